package ai.emaspark.ema;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The weight-snapshot message from rank 0 to the driver's EMA service, and its framing. */
final class SnapshotWire {
    static final int MAGIC = 0x454d4131; // "EMA1"
    private static final int BLOCK = 1 << 20;

    private SnapshotWire() {}

    record Header(int epoch, int attempt, int iteration, int floatCount, int longCount) {}

    static void writeHeader(DataOutputStream out, Header header) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(header.epoch());
        out.writeInt(header.attempt());
        out.writeInt(header.iteration());
        out.writeInt(header.floatCount());
        out.writeInt(header.longCount());
    }

    static Header readHeader(DataInputStream in) throws IOException {
        int magic = in.readInt();
        if (magic != MAGIC) {
            throw new IOException("not an EMA snapshot message (magic " + Integer.toHexString(magic) + ")");
        }
        return new Header(in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt());
    }

    static void writeFloats(DataOutputStream out, float[] values) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        for (int start = 0; start < values.length; start += BLOCK / 4) {
            int count = Math.min(BLOCK / 4, values.length - start);
            bytes.clear();
            bytes.asFloatBuffer().put(values, start, count);
            out.write(bytes.array(), 0, count * 4);
        }
    }

    static void readFloats(DataInputStream in, float[] values) throws IOException {
        byte[] block = new byte[BLOCK];
        ByteBuffer bytes = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        for (int start = 0; start < values.length; start += BLOCK / 4) {
            int count = Math.min(BLOCK / 4, values.length - start);
            in.readFully(block, 0, count * 4);
            bytes.clear();
            bytes.asFloatBuffer().get(values, start, count);
        }
    }

    static void writeLongs(DataOutputStream out, long[] values) throws IOException {
        for (long value : values) {
            out.writeLong(value);
        }
    }

    static void readLongs(DataInputStream in, long[] values) throws IOException {
        for (int i = 0; i < values.length; i++) {
            values[i] = in.readLong();
        }
    }
}
