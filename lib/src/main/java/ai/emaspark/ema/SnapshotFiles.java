package ai.emaspark.ema;

import ai.emaspark.model.ModelState;
import ai.emaspark.model.StateLayout;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Weight snapshots as local files (counts, then little-endian floats and longs): a test aid. */
public final class SnapshotFiles {
    private SnapshotFiles() {}

    public static void write(Path file, ModelState state) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 20))) {
            out.writeInt(state.floats().length);
            out.writeInt(state.longs().length);
            SnapshotWire.writeFloats(out, state.floats(), null, null);
            SnapshotWire.writeLongs(out, state.longs(), null, null);
        }
    }

    public static ModelState read(Path file, StateLayout layout) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20))) {
            float[] floats = new float[in.readInt()];
            long[] longs = new long[in.readInt()];
            SnapshotWire.readFloats(in, floats, null, null);
            SnapshotWire.readLongs(in, longs, null, null);
            return new ModelState(layout, floats, longs);
        }
    }
}
