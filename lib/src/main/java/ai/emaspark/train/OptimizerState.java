package ai.emaspark.train;

import java.io.Serializable;

/**
 * SGD's state: the momentum buffers of the trainable tensors, flat in gradient-layout order, and
 * how many steps were taken (torch starts each buffer as a copy of the first gradient).
 */
public record OptimizerState(float[] momentum, long steps) implements Serializable {

    public static OptimizerState fresh(int gradientCount) {
        return new OptimizerState(new float[gradientCount], 0);
    }
}
