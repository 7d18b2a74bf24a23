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
                    // Parallelism comes from the decode threads (one image each); OpenCV's own
                    // thread pool on top of them would oversubscribe the task's cores.
                    org.opencv.core.Core.setNumThreads(1);
                    loaded = true;
                }
            }
        }
    }
}
