package ai.emaspark.eval;

/** Top-1 and top-5 hits of a batch of logits, computed on the host. */
public final class TopK {
    private TopK() {}

    /**
     * Returns {top-1 hits, top-5 hits}: a row hits top-k when fewer than k classes score
     * strictly higher than its label.
     */
    public static int[] hits(float[] logits, int[] labels, int count, int numClasses) {
        int top1 = 0;
        int top5 = 0;
        for (int row = 0; row < count; row++) {
            int base = row * numClasses;
            float target = logits[base + labels[row]];
            int higher = 0;
            for (int c = 0; c < numClasses; c++) {
                if (logits[base + c] > target) {
                    higher++;
                }
            }
            top1 += higher < 1 ? 1 : 0;
            top5 += higher < 5 ? 1 : 0;
        }
        return new int[] {top1, top5};
    }
}
