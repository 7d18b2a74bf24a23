package ai.emaspark.data;

import java.io.Serializable;

/**
 * One image of a split: its key (file name without extension, e.g. n01440764_10026), its full
 * path (any Hadoop URI) and its class index in the sorted wnid list.
 */
public record Sample(String key, String path, int label) implements Serializable {}
