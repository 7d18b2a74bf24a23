package ai.emaspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;

class FailureReasonTest {
    private static final String ABORTED = "Job aborted due to stage failure: Could not recover from a failed barrier ResultStage. "
            + "Most recent failure reason: Stage failed because barrier task ResultTask(3, 0) finished unsuccessfully.\n";

    @Test
    void aTasksExceptionGivesItsInnermostMessage() {
        RuntimeException spark = new RuntimeException(ABORTED
                + "java.io.UncheckedIOException: java.io.IOException: rank 0 at 10.77.0.11:43539 reports: rank 1 at 10.77.0.12:36653 sent nothing for 20 s\n"
                + "\tat ai.emaspark.spark.SparkFunctions$TrainPartition.apply(SparkFunctions.java:41)\n"
                + "Caused by: java.io.IOException: ...\n");
        assertEquals("rank 0 at 10.77.0.11:43539 reports: rank 1 at 10.77.0.12:36653 sent nothing for 20 s", FailureReason.of(spark));
    }

    @Test
    void sparksOwnReasonIsKeptWhole() {
        RuntimeException spark = new RuntimeException(ABORTED
                + "ExecutorLostFailure (executor 0 exited unrelated to the running tasks) Reason: worker lost: 10.77.0.12:42845 got disassociated");
        assertEquals("ExecutorLostFailure (executor 0 exited unrelated to the running tasks) Reason: worker lost: 10.77.0.12:42845 got disassociated",
                FailureReason.of(spark));
    }

    @Test
    void otherFailuresGiveTheirFirstLineOrTheirCause() {
        assertEquals("Job 7 cancelled part of cancelled job group x", FailureReason.of(new RuntimeException("Job 7 cancelled part of cancelled job group x\nmore")));
        assertEquals("disk full", FailureReason.of(new UncheckedIOException(new IOException("disk full"))));
        assertEquals("injected failure", FailureReason.innermost("java.lang.IllegalStateException: injected failure"));
        assertEquals("java.net.SocketTimeoutException", FailureReason.innermost("java.net.SocketTimeoutException"));
    }
}
