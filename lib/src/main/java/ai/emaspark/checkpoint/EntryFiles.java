package ai.emaspark.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The entries of a folder whose meta.json lists each one's size and SHA-256 (checkpoints, post-hoc EMA
 * snapshots and reconstructions): written with their digest, read back only if they match it.
 */
final class EntryFiles {
    /** What writes one entry's bytes. */
    interface Writer {
        void write(OutputStream out) throws IOException;
    }

    private EntryFiles() {}

    /** Writes {@code name} into {@code folder} and records its size and SHA-256 under {@code entries}. */
    static void write(FileSystem fs, Path folder, String name, ObjectNode entries, Writer writer) throws IOException {
        MessageDigest sha = sha256();
        try (OutputStream file = fs.create(new Path(folder, name), false);
                DigestOutputStream out = new DigestOutputStream(file, sha)) {
            writer.write(out);
        }
        ObjectNode entry = entries.putObject(name);
        entry.put("bytes", fs.getFileStatus(new Path(folder, name)).getLen());
        entry.put("sha256", HexFormat.of().formatHex(sha.digest()));
    }

    /** The bytes of one entry, after checking its size and SHA-256 against {@code entries} (meta.json's). */
    static byte[] verified(FileSystem fs, Path folder, String name, JsonNode entries) throws IOException {
        Path path = new Path(folder, name);
        if (!fs.exists(path)) {
            throw new CheckpointException("entry " + name + " is missing");
        }
        byte[] bytes;
        try (FSDataInputStream in = fs.open(path)) {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            in.transferTo(buffer);
            bytes = buffer.toByteArray();
        }
        JsonNode expected = entries.path(name);
        if (expected.isMissingNode()) {
            throw new CheckpointException("entry " + name + " is not listed in " + CheckpointStore.META);
        }
        if (expected.path("bytes").asLong(-1) != bytes.length) {
            throw new CheckpointException("entry " + name + " has " + bytes.length + " bytes, " + CheckpointStore.META + " says "
                    + expected.path("bytes").asLong(-1));
        }
        String sha = HexFormat.of().formatHex(sha256().digest(bytes));
        if (!sha.equals(expected.path("sha256").asText())) {
            throw new CheckpointException("entry " + name + " fails its SHA-256 check");
        }
        return bytes;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
