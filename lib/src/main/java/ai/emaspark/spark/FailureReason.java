package ai.emaspark.spark;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The one-line reason inside a failed Spark job: Spark reports a failed barrier stage as "Job
 * aborted due to stage failure: ... finished unsuccessfully." followed by the task's failure: an
 * exception and its stack trace, whose innermost message is the reason (e.g. "rank 0 at
 * 10.77.0.11:41877: rank 1 at 10.77.0.12:36611 sent nothing for 20 s"), or Spark's own reason
 * (e.g. "ExecutorLostFailure (executor 0 exited ...) Reason: worker lost: ...").
 */
final class FailureReason {
    /** "java.io.UncheckedIOException: " and the like, possibly nested. */
    private static final Pattern EXCEPTION_PREFIX = Pattern.compile("^(?:[\\w$]+\\.)*[\\w$]*(?:Exception|Error)(?::\\s*|$)");

    private FailureReason() {}

    private static final String TASK_FAILED = "finished unsuccessfully.";

    static String of(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            List<String> lines = String.valueOf(t.getMessage()).lines().map(String::strip).toList();
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).endsWith(TASK_FAILED) && i + 1 < lines.size() && !lines.get(i + 1).isEmpty()) {
                    return innermost(lines.get(i + 1));
                }
                if (EXCEPTION_PREFIX.matcher(lines.get(i)).find()) {
                    return innermost(lines.get(i));
                }
            }
        }
        return String.valueOf(failure.getMessage()).lines().findFirst().orElse(failure.getClass().getName());
    }

    /** Strips exception class names: "a.B: c.D: message" → "message". */
    static String innermost(String line) {
        String rest = line;
        while (true) {
            var m = EXCEPTION_PREFIX.matcher(rest);
            if (!m.find() || m.end() == rest.length()) {
                return rest.isEmpty() ? line : rest;
            }
            rest = rest.substring(m.end());
        }
    }
}
