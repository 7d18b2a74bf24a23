package ai.emaspark.model;

import java.io.Serializable;
import java.util.Arrays;

/** A model's whole state as flat buffers over a {@link StateLayout}: floats and int64 buffers. */
public final class ModelState implements Serializable {
    private static final long serialVersionUID = 1L;

    private final StateLayout layout;
    private final float[] floats;
    private final long[] longs;

    public ModelState(StateLayout layout, float[] floats, long[] longs) {
        if (floats.length != layout.floatCount() || longs.length != layout.longCount()) {
            throw new IllegalArgumentException(
                    "state buffers (" + floats.length + " floats, " + longs.length + " longs) do not fit the layout ("
                            + layout.floatCount() + ", " + layout.longCount() + ")");
        }
        this.layout = layout;
        this.floats = floats;
        this.longs = longs;
    }

    public static ModelState zeros(StateLayout layout) {
        return new ModelState(layout, new float[layout.floatCount()], new long[layout.longCount()]);
    }

    public StateLayout layout() {
        return layout;
    }

    /** The float tensors, concatenated in layout order (shared, not copied). */
    public float[] floats() {
        return floats;
    }

    /** The int64 tensors, concatenated in layout order (shared, not copied). */
    public long[] longs() {
        return longs;
    }

    public ModelState copy() {
        return new ModelState(layout, floats.clone(), longs.clone());
    }

    /** The values of tensor {@code name}, as a copy (floats only). */
    public float[] tensor(String name) {
        int index = layout.indexOf(name);
        if (index < 0 || layout.tensor(index).integer()) {
            throw new IllegalArgumentException("no float tensor named " + name);
        }
        int offset = layout.offset(index);
        return Arrays.copyOfRange(floats, offset, offset + layout.tensor(index).size());
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ModelState state
                && state.layout.equals(layout)
                && Arrays.equals(state.floats, floats)
                && Arrays.equals(state.longs, longs);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(floats);
    }
}
