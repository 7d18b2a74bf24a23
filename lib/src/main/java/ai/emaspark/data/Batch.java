package ai.emaspark.data;

/**
 * A batch of decoded, transformed images in NCHW float layout (pycls's BGR channel order) with
 * their class labels. {@code count} may be below the buffer's capacity at the end of a split.
 */
public record Batch(float[] images, int[] labels, int count, int size) {

    public static Batch allocate(int capacity, int size) {
        return new Batch(new float[capacity * 3 * size * size], new int[capacity], 0, size);
    }

    public Batch withCount(int newCount) {
        return new Batch(images, labels, newCount, size);
    }
}
