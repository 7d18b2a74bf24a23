package ai.emaspark.ema;

import ai.emaspark.auth.AuthException;
import ai.emaspark.auth.FrameCipher;
import ai.emaspark.auth.FrameMac;
import ai.emaspark.auth.Handshake;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The messages between rank 0 and the driver's EMA service. A connection starts with the
 * {@link Handshake} for "ema epoch E attempt A"; then each snapshot is a header (with its MAC),
 * checked before anything is allocated, a payload of floats and longs sealed with AES-GCM block by
 * block, and the service's acknowledgement (with its MAC): the count of snapshots applied for the
 * attempt. The payload is sealed whether or not the run asks for encryption: the JDK's GCM runs at about
 * twice HMAC-SHA256's speed here, and a ResNet-50 snapshot is 94 MB on both rank 0 and the driver.
 */
final class SnapshotWire {
    static final int MAGIC = 0x454d4132; // "EMA2"
    static final int HEADER_BYTES = 24;
    private static final int BLOCK = 1 << 20;

    private SnapshotWire() {}

    record Header(int epoch, int attempt, int iteration, int floatCount, int longCount) {}

    /** An encrypting side and a plain one never connect: the mode is part of what the handshake proves. */
    static String context(int epoch, int attempt, boolean encrypt) {
        return "ema epoch " + epoch + " attempt " + attempt + (encrypt ? " aes-gcm" : "");
    }

    static void serverHandshake(DataInputStream in, DataOutputStream out, Handshake.Server server) throws IOException {
        out.write(server.hello());
        out.flush();
        byte[] answer = new byte[Handshake.ANSWER_BYTES];
        in.readFully(answer);
        try {
            out.write(server.check(answer));
        } catch (AuthException e) {
            out.write(server.refusal());
            throw e;
        } finally {
            out.flush();
        }
    }

    static void clientHandshake(DataInputStream in, DataOutputStream out, Handshake.Client client) throws IOException {
        byte[] hello = new byte[Handshake.HELLO_BYTES];
        in.readFully(hello);
        out.write(client.answer(hello));
        out.flush();
        byte[] proof = new byte[Handshake.PROOF_BYTES];
        in.readFully(proof);
        client.check(proof);
    }

    static void writeHeader(DataOutputStream out, Header header, FrameMac mac) throws IOException {
        byte[] bytes = ByteBuffer.allocate(HEADER_BYTES).putInt(MAGIC).putInt(header.epoch()).putInt(header.attempt())
                .putInt(header.iteration()).putInt(header.floatCount()).putInt(header.longCount()).array();
        out.write(bytes);
        out.write(mac.update(bytes, 0, bytes.length).tag());
    }

    /** The header after {@code first}, its first byte (read by the caller, which may wait longer for it). */
    static Header readHeader(int first, DataInputStream in, FrameMac mac) throws IOException {
        byte[] bytes = new byte[HEADER_BYTES];
        bytes[0] = (byte) first;
        in.readFully(bytes, 1, HEADER_BYTES - 1);
        mac.update(bytes, 0, HEADER_BYTES).verify(readTag(in), "snapshot header");
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (b.getInt() != MAGIC) {
            throw new AuthException("not an EMA snapshot header");
        }
        return new Header(b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getInt());
    }

    /** The payload, sealed block by block with {@code keys}' cipher (authenticated and secret). */
    static void writePayload(DataOutputStream out, float[] floats, long[] longs, Handshake.Session keys) throws IOException {
        FrameCipher cipher = keys.seal();
        writeFloats(out, floats, null, cipher);
        writeLongs(out, longs, null, cipher);
    }

    static void readPayload(DataInputStream in, float[] floats, long[] longs, Handshake.Session keys) throws IOException {
        FrameCipher cipher = keys.open();
        readFloats(in, floats, null, cipher);
        readLongs(in, longs, null, cipher);
    }

    static void writeAck(DataOutputStream out, int count, FrameMac mac) throws IOException {
        byte[] bytes = ByteBuffer.allocate(4).putInt(count).array();
        out.write(bytes);
        out.write(mac.update(bytes, 0, 4).tag());
        out.flush();
    }

    static int readAck(DataInputStream in, FrameMac mac) throws IOException {
        byte[] bytes = new byte[4];
        in.readFully(bytes);
        mac.update(bytes, 0, 4).verify(readTag(in), "acknowledgement");
        return ByteBuffer.wrap(bytes).getInt();
    }

    private static byte[] readTag(DataInputStream in) throws IOException {
        byte[] tag = new byte[FrameMac.TAG_BYTES];
        in.readFully(tag);
        return tag;
    }

    /**
     * Little-endian floats in 1 MB blocks, each sealed when {@code cipher} is given, else sent as is and fed
     * to {@code mac} (both may be null: a file).
     */
    static void writeFloats(DataOutputStream out, float[] values, FrameMac mac, FrameCipher cipher) throws IOException {
        byte[] block = new byte[BLOCK + FrameCipher.TAG_BYTES];
        ByteBuffer bytes = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        for (int start = 0; start < values.length; start += BLOCK / 4) {
            int count = Math.min(BLOCK / 4, values.length - start);
            bytes.clear();
            bytes.asFloatBuffer().put(values, start, count);
            writeBlock(out, block, 4 * count, mac, cipher);
        }
    }

    static void readFloats(DataInputStream in, float[] values, FrameMac mac, FrameCipher cipher) throws IOException {
        byte[] block = new byte[BLOCK + FrameCipher.TAG_BYTES];
        ByteBuffer bytes = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        for (int start = 0; start < values.length; start += BLOCK / 4) {
            int count = Math.min(BLOCK / 4, values.length - start);
            readBlock(in, block, 4 * count, mac, cipher);
            bytes.clear();
            bytes.asFloatBuffer().get(values, start, count);
        }
    }

    /** Big-endian longs in one block, as {@link #writeFloats}. */
    static void writeLongs(DataOutputStream out, long[] values, FrameMac mac, FrameCipher cipher) throws IOException {
        byte[] block = new byte[8 * values.length + FrameCipher.TAG_BYTES];
        ByteBuffer.wrap(block).asLongBuffer().put(values);
        writeBlock(out, block, 8 * values.length, mac, cipher);
    }

    static void readLongs(DataInputStream in, long[] values, FrameMac mac, FrameCipher cipher) throws IOException {
        byte[] block = new byte[8 * values.length + FrameCipher.TAG_BYTES];
        readBlock(in, block, 8 * values.length, mac, cipher);
        ByteBuffer.wrap(block).asLongBuffer().get(values);
    }

    /** Writes {@code block[0, length)}: sealed in place (the block has room for the tag), or as is and fed to the MAC. */
    private static void writeBlock(DataOutputStream out, byte[] block, int length, FrameMac mac, FrameCipher cipher)
            throws IOException {
        if (cipher != null) {
            out.write(block, 0, cipher.seal(block, length));
            return;
        }
        out.write(block, 0, length);
        if (mac != null) {
            mac.update(block, 0, length);
        }
    }

    /** Reads {@code length} bytes of data into {@code block}: opened in place when sealed, else fed to the MAC. */
    private static void readBlock(DataInputStream in, byte[] block, int length, FrameMac mac, FrameCipher cipher)
            throws IOException {
        if (cipher != null) {
            in.readFully(block, 0, length + FrameCipher.TAG_BYTES);
            cipher.open(block, length, "snapshot");
            return;
        }
        in.readFully(block, 0, length);
        if (mac != null) {
            mac.update(block, 0, length);
        }
    }
}
