package ai.emaspark.data;

import java.io.Serializable;

/**
 * One image on its way into a shard: key (file name without extension), class index and wnid,
 * the encoded bytes as found, and the decoded size. A row with a {@code skipReason} carries no
 * bytes: it records a file that is left out of the shards, and why.
 */
public record ImageRow(String key, String source, int label, String wnid, byte[] image, int width, int height,
        String skipReason) implements Serializable {

    public static ImageRow skipped(String key, String source, String reason) {
        return new ImageRow(key, source, -1, "", new byte[0], 0, 0, reason);
    }

    public boolean isSkipped() {
        return skipReason != null;
    }
}
