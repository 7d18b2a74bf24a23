package ai.emaspark.train;

/** What one replica's forward pass measured on its batch. */
public record StepStats(double loss, int top1Hits, int top5Hits, int count) {}
