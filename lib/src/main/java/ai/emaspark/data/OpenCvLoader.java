package ai.emaspark.data;

/**
 * Loads OpenCV once per JVM: JavaCPP's build (its libjpeg-turbo has SIMD), used through OpenCV's
 * official {@code org.opencv} Java API.
 */
public final class OpenCvLoader {
    private static volatile boolean loaded;

    private OpenCvLoader() {}

    public static void load() {
        if (!loaded) {
            synchronized (OpenCvLoader.class) {
                if (!loaded) {
                    org.bytedeco.javacpp.Loader.load(org.bytedeco.opencv.opencv_java.class);
                    // Parallelism comes from the decode threads (one image each); OpenCV's own
                    // thread pool on top of them would oversubscribe the task's cores.
                    org.opencv.core.Core.setNumThreads(1);
                    loaded = true;
                }
            }
        }
    }
}
