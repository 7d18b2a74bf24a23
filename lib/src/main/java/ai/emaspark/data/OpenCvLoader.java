package ai.emaspark.data;

/** Loads OpenCV's native library (libjpeg-turbo inside) once per JVM. */
public final class OpenCvLoader {
    private static volatile boolean loaded;

    private OpenCvLoader() {}

    public static void load() {
        if (!loaded) {
            synchronized (OpenCvLoader.class) {
                if (!loaded) {
                    nu.pattern.OpenCV.loadLocally();
                    loaded = true;
                }
            }
        }
    }
}
