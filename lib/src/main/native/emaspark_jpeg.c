/*
 * JNI half of ai.emaspark.data.NativeJpeg: libjpeg-turbo decoding of only the rows and columns a
 * training crop needs, straight to pycls's float32 RGB (b / 255), and the last step of pycls's
 * pipeline (flip, lighting, color_norm, HWC/RGB -> CHW/BGR) in one pass.
 *
 * Pixels equal a full decode's: libjpeg-turbo's islow IDCT and fancy upsampling, the defaults that
 * OpenCV's imdecode (and so pycls's cv2.imread) uses. Decoding starts one iMCU row above and
 * one iMCU column left of the crop so that upsampling sees the same neighbours as in a full decode.
 *
 * Arithmetic is IEEE float32/float64 without contraction or fast-math (see build.sh), so results
 * are bit-identical to the Java/OpenCV path.
 */
#include <jni.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

/* libjpeg's jerror.c prints warnings to `stderr`; build.sh renames its reference to this. */
__attribute__((visibility("hidden"))) FILE *emaspark_jpeg_stderr;

__attribute__((constructor)) static void init_stderr(void) {
    emaspark_jpeg_stderr = stderr;
}

struct error_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

/* A progressive JPEG of thousands of scans costs CPU without end: stop after max_scans (as TurboJPEG does). */
struct scan_limit {
    struct jpeg_progress_mgr pub;
    int max_scans;
};

static void on_progress(j_common_ptr cinfo) {
    struct scan_limit *limit = (struct scan_limit *) cinfo->progress;
    if (cinfo->is_decompressor && ((j_decompress_ptr) cinfo)->input_scan_number > limit->max_scans) {
        struct error_mgr *err = (struct error_mgr *) cinfo->err;
        snprintf(err->message, sizeof err->message, "progressive JPEG of more than %d scans", limit->max_scans);
        longjmp(err->jump, 1);
    }
}

static void on_error(j_common_ptr cinfo) {
    struct error_mgr *err = (struct error_mgr *) cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

/*
 * Warnings: data that ends before the image does is fatal, as it is for OpenCV's decoder (its source
 * suspends rather than padding); other damage (bad bytes, resyncs) is decoded through quietly, as
 * OpenCV does.
 */
static void on_message(j_common_ptr cinfo, int level) {
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        on_error(cinfo);
    }
}

static void throw_undecodable(JNIEnv *env, const char *message) {
    jclass cls = (*env)->FindClass(env, "ai/emaspark/data/UndecodableImageException");
    if (cls != NULL) {
        (*env)->ThrowNew(env, cls, message);
    }
}

/* Copies the Java bytes to native memory: the decode is too long for a JNI critical section. */
static unsigned char *copy_bytes(JNIEnv *env, jbyteArray data, jsize *length) {
    *length = (*env)->GetArrayLength(env, data);
    unsigned char *bytes = malloc(*length > 0 ? (size_t) *length : 1);
    if (bytes == NULL) {
        jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
        if (oom != NULL) {
            (*env)->ThrowNew(env, oom, "emaspark_jpeg: copy of the encoded image");
        }
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, data, 0, *length, (jbyte *) bytes);
    return bytes;
}

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* The libjpeg-turbo version linked in, for logs and benchmark records. */
JNIEXPORT jstring JNICALL Java_ai_emaspark_data_NativeJpeg_libjpegTurboVersion(JNIEnv *env, jclass cls) {
    (void) cls;
    return (*env)->NewStringUTF(env, STRINGIFY(LIBJPEG_TURBO_VERSION));
}

/*
 * Reads the header. dims <- {width, height}. Returns true when the image is a 3-component YCbCr
 * JPEG (what this decoder handles); false for anything else (grayscale, CMYK/YCCK, not a JPEG),
 * which the caller decodes with OpenCV instead.
 */
JNIEXPORT jboolean JNICALL Java_ai_emaspark_data_NativeJpeg_header(JNIEnv *env, jclass cls, jbyteArray data,
                                                                    jintArray dims) {
    (void) cls;
    jsize length;
    unsigned char *bytes = copy_bytes(env, data, &length);
    if (bytes == NULL) {
        return JNI_FALSE;
    }
    struct jpeg_decompress_struct cinfo;
    struct error_mgr err;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error;
    err.pub.emit_message = on_message;
    jboolean supported = JNI_FALSE;
    if (setjmp(err.jump) == 0) {
        jpeg_create_decompress(&cinfo);
        jpeg_mem_src(&cinfo, bytes, (unsigned long) length);
        jpeg_read_header(&cinfo, TRUE);
        jint wh[2] = {(jint) cinfo.image_width, (jint) cinfo.image_height};
        (*env)->SetIntArrayRegion(env, dims, 0, 2, wh);
        supported = cinfo.jpeg_color_space == JCS_YCbCr && cinfo.num_components == 3;
    }
    jpeg_destroy_decompress(&cinfo);
    free(bytes);
    return supported;
}

/*
 * Decodes rows [y, y + h) and columns [x, x + w) to float32 RGB b / 255 at dst (HWC, dst_step bytes
 * per row). libjpeg may use at most max_memory bytes for its whole-image buffers (a progressive
 * JPEG's coefficients) and read at most max_scans scans. Throws UndecodableImageException with
 * libjpeg's message on a fatal error or a limit exceeded.
 */
JNIEXPORT void JNICALL Java_ai_emaspark_data_NativeJpeg_decodeRgbFloat(JNIEnv *env, jclass cls, jbyteArray data,
                                                                       jint x, jint y, jint w, jint h,
                                                                       jlong dst, jlong dst_step, jlong max_memory,
                                                                       jint max_scans) {
    (void) cls;
    jsize length;
    unsigned char *bytes = copy_bytes(env, data, &length);
    if (bytes == NULL) {
        return;
    }
    struct jpeg_decompress_struct cinfo;
    struct error_mgr err;
    JSAMPLE *volatile row_to_free = NULL; /* volatile: set after setjmp, freed after a longjmp */
    struct scan_limit limit = {{0}, max_scans};
    limit.pub.progress_monitor = on_progress;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error;
    err.pub.emit_message = on_message;
    if (setjmp(err.jump) == 0) {
        jpeg_create_decompress(&cinfo);
        cinfo.mem->max_memory_to_use = (long) max_memory; /* beyond it: "Backing store not supported" */
        cinfo.progress = &limit.pub;
        jpeg_mem_src(&cinfo, bytes, (unsigned long) length);
        jpeg_read_header(&cinfo, TRUE);
        cinfo.out_color_space = JCS_RGB;
        jpeg_start_decompress(&cinfo);
        if (x < 0 || y < 0 || w <= 0 || h <= 0 || (JDIMENSION) (x + w) > cinfo.output_width
            || (JDIMENSION) (y + h) > cinfo.output_height) {
            snprintf(err.message, sizeof err.message, "region %dx%d+%d+%d outside the %ux%u image", w, h, x, y,
                     cinfo.output_width, cinfo.output_height);
            longjmp(err.jump, 1);
        }
        /* One iMCU of margin on each side: upsampling then sees the same neighbours as a full decode. */
        int imcu_w = cinfo.max_h_samp_factor * DCTSIZE;
        int imcu_h = cinfo.max_v_samp_factor * DCTSIZE;
        JDIMENSION left = (JDIMENSION) (x > imcu_w ? x - imcu_w : 0);
        JDIMENSION right = (JDIMENSION) (x + w + imcu_w);
        if (right > cinfo.output_width) {
            right = cinfo.output_width;
        }
        JDIMENSION crop_x = left;
        JDIMENSION crop_w = right - left;
        if (crop_w < cinfo.output_width) {
            jpeg_crop_scanline(&cinfo, &crop_x, &crop_w); /* widens to iMCU boundaries */
        }
        JDIMENSION top = (JDIMENSION) (y > 2 * imcu_h ? (y / imcu_h - 1) * imcu_h : 0);
        if (top > 0) {
            jpeg_skip_scanlines(&cinfo, top);
        }
        JSAMPLE *row = malloc((size_t) cinfo.output_width * 3);
        row_to_free = row;
        if (row == NULL) {
            snprintf(err.message, sizeof err.message, "out of memory for a %u-pixel row", cinfo.output_width);
            longjmp(err.jump, 1);
        }
        const JSAMPLE *first = row + (size_t) (x - (jint) crop_x) * 3;
        while (cinfo.output_scanline < (JDIMENSION) (y + h)) {
            JDIMENSION line = cinfo.output_scanline;
            jpeg_read_scanlines(&cinfo, &row, 1);
            if (line < (JDIMENSION) y) {
                continue;
            }
            float *out = (float *) ((char *) (intptr_t) dst + (line - y) * dst_step);
            for (int i = 0; i < 3 * w; i++) {
                out[i] = (float) first[i] / 255.0f;
            }
        }
        jpeg_abort_decompress(&cinfo);
    } else {
        throw_undecodable(env, err.message);
    }
    free(row_to_free);
    jpeg_destroy_decompress(&cinfo);
    free(bytes);
}

/*
 * pycls's last steps on a size x size float32 RGB HWC image at src (src_step bytes per row):
 * horizontal flip, lighting (v + shift, added in float64 as numpy 2 does with its float64 shift),
 * color_norm ((v - mean) / std in float32), then CHW with channels B, G, R into out[offset...].
 * shift is null for no lighting.
 */
JNIEXPORT void JNICALL Java_ai_emaspark_data_NativeJpeg_writeNetworkInput(JNIEnv *env, jclass cls, jlong src,
                                                                          jlong src_step, jint size,
                                                                          jboolean flip, jdoubleArray shift,
                                                                          jfloatArray mean, jfloatArray std,
                                                                          jfloatArray out, jint offset) {
    (void) cls;
    jdouble shift_rgb[3] = {0, 0, 0};
    jfloat mean_rgb[3];
    jfloat std_rgb[3];
    if (shift != NULL) {
        (*env)->GetDoubleArrayRegion(env, shift, 0, 3, shift_rgb);
    }
    (*env)->GetFloatArrayRegion(env, mean, 0, 3, mean_rgb);
    (*env)->GetFloatArrayRegion(env, std, 0, 3, std_rgb);
    jfloat *dst = (*env)->GetPrimitiveArrayCritical(env, out, NULL);
    if (dst == NULL) {
        return;
    }
    size_t plane = (size_t) size * size;
    for (int c = 0; c < 3; c++) {
        float *channel = dst + offset + (size_t) (2 - c) * plane;
        const float m = mean_rgb[c];
        const float s = std_rgb[c];
        const double add = shift_rgb[c];
        for (int yy = 0; yy < size; yy++) {
            const float *in = (const float *) ((const char *) (intptr_t) src + yy * src_step) + c;
            float *o = channel + (size_t) yy * size;
            if (flip) {
                for (int xx = 0; xx < size; xx++) {
                    float v = shift != NULL ? (float) ((double) in[(size - 1 - xx) * 3] + add) : in[(size - 1 - xx) * 3];
                    o[xx] = (v - m) / s;
                }
            } else {
                for (int xx = 0; xx < size; xx++) {
                    float v = shift != NULL ? (float) ((double) in[xx * 3] + add) : in[xx * 3];
                    o[xx] = (v - m) / s;
                }
            }
        }
    }
    (*env)->ReleasePrimitiveArrayCritical(env, out, dst, 0);
}
