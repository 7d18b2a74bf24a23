package ai.emaspark.data;

import java.io.Serializable;

/** One written shard: its file name within the split folder, rows, bytes and SHA-256. */
public record ShardInfo(String name, long rows, long bytes, String sha256) implements Serializable {}
