package ai.emaspark.checkpoint;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Instant;

/** What a lock file holds: one "owner" line per run that took it, then that run's heartbeats. */
final class LockFile {
    private LockFile() {}

    /** The line a run writes when it takes the lock: who, where, since when. */
    static String ownerLine(String owner) {
        return "owner " + owner + " on " + host() + " since " + Instant.now() + "\n";
    }

    /** The latest owner named in a lock file's content: a lock taken over holds several. */
    static String owner(String content) {
        String owner = "";
        for (String line : content.split("\n")) {
            if (line.startsWith("owner ")) {
                owner = line.substring(6);
            }
        }
        return owner.isEmpty() ? "(unknown)" : owner;
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName() + " (pid " + ProcessHandle.current().pid() + ")";
        } catch (IOException e) {
            return "pid " + ProcessHandle.current().pid();
        }
    }
}
