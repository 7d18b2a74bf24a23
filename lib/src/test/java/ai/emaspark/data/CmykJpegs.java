package ai.emaspark.data;

import java.io.IOException;

/** CMYK JPEGs as Photoshop writes them (Adobe APP14, inverted ink), for tests of other packages. */
public final class CmykJpegs {
    private CmykJpegs() {}

    /** 8 flat 16x16 patches side by side; the first is pure cyan ink (RGB 0, 255, 255). */
    public static byte[] adobeCmyk() throws IOException {
        return PyclsDecodeTest.cmykJpeg(0);
    }
}
