package ai.emaspark.checkpoint;

/**
 * A resume on another number of replicas: from {@code epoch} (counted from 0) on, the run trained
 * on {@code to} replicas instead of {@code from}. The global batch and the lr schedule stay; batch
 * statistics are per replica, so the bits differ from then on from a run that kept {@code from}.
 */
public record NumGpusChange(int epoch, int from, int to) implements java.io.Serializable {}
