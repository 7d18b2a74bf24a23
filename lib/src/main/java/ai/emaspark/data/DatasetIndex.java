package ai.emaspark.data;

import java.util.List;

/** The classes (sorted wnids) and the samples of both splits, as listed by the driver. */
public record DatasetIndex(List<String> classes, List<Sample> train, List<Sample> val, List<String> unlabeled) {}
