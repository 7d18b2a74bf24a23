package ai.emaspark.checkpoint;

import java.io.Serializable;

/**
 * One set of weights' top-1 and top-5 error on TEST.SPLIT (percent; 100 when unknown), with the epoch
 * (counted from 0) whose weights they are.
 */
public record TestErrors(int epoch, double top1, double top5) implements Serializable {}
