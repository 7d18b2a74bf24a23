package ai.emaspark.spark;

import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.checkpoint.PostHocStore;
import ai.emaspark.checkpoint.RunLock;
import ai.emaspark.config.Config;
import ai.emaspark.checkpoint.NumGpusChange;
import ai.emaspark.config.ConfigDiff;
import ai.emaspark.config.ConfigException;
import ai.emaspark.config.ConfigLoader;
import ai.emaspark.fs.Replace;
import ai.emaspark.model.StateLayout;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A run's OUT_DIR, owned by that run for its life: its lock is taken ({@link RunLock}), what an
 * interrupted writer left is put right, and the state to start from is chosen: the newest checkpoint
 * that loads when resuming, refused if it was trained with settings that change the result; a fresh
 * start is refused if OUT_DIR already holds a run. Every refusal is one line naming what to do.
 */
final class OutDir implements AutoCloseable {
    static final String CONFIG = "config.yaml";
    private static final Logger LOG = LoggerFactory.getLogger(OutDir.class);

    final FileSystem fs;
    final Path dir;
    final CheckpointStore store;
    /** OUT_DIR/posthoc/: the power EMAs stored for post-hoc reconstruction. */
    final PostHocStore postHoc;
    /** Confirmed right before anything in OUT_DIR is replaced or deleted. */
    final RunLock lock;

    private OutDir(FileSystem fs, Path dir, RunLock lock) {
        this.fs = fs;
        this.dir = dir;
        this.store = new CheckpointStore(fs, dir, lock);
        this.postHoc = new PostHocStore(fs, dir, lock);
        this.lock = lock;
    }

    /** {@value RunLock#SETTING}: auto (the default) or none; anything else is refused in one line. */
    static RunLock.Mode lockMode(org.apache.spark.SparkConf spark) {
        String value = spark.get(RunLock.SETTING, "auto");
        RunLock.Mode mode = RunLock.Mode.parse(value);
        if (mode == null) {
            throw new ConfigException(RunLock.SETTING + " is " + value + ": set auto (lock OUT_DIR on HDFS and local or NFS paths) "
                    + "or none (no lock: you keep a second run away)");
        }
        return mode;
    }

    /** Takes OUT_DIR for this run ({@link RunLock.Mode#AUTO}) and cleans up after an interrupted writer. */
    static OutDir claim(Configuration hadoop, Path dir) throws IOException {
        return claim(hadoop, dir, RunLock.Mode.AUTO);
    }

    /** Takes OUT_DIR for this run and cleans up after an interrupted writer. */
    static OutDir claim(Configuration hadoop, Path dir, RunLock.Mode mode) throws IOException {
        RunLock lock;
        try {
            lock = RunLock.acquire(hadoop, dir, "emaspark Train of " + System.getProperty("user.name"), mode);
        } catch (RunLock.HeldException e) {
            throw new RunFailedException(e.getMessage(), e);
        } catch (RunLock.UnsupportedException e) {
            throw new ConfigException(e.getMessage());
        }
        try {
            OutDir out = new OutDir(dir.getFileSystem(hadoop), dir, lock);
            int recovered = out.store.recoverInterrupted() + out.postHoc.recoverInterrupted() + Replace.restore(out.fs, dir)
                    + out.removeTemporaryFiles();
            if (recovered > 0) {
                LOG.info("put right {} folder(s) or file(s) left by an interrupted run in {}", recovered, dir);
            }
            return out;
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /**
     * The checkpoint to resume from, if any. With TRAIN.AUTO_RESUME it is the newest that loads, and it
     * must have been trained with this run's settings; without, OUT_DIR must not hold a run yet.
     */
    Optional<Checkpoint> resumePoint(Config cfg, StateLayout layout) throws IOException {
        if (!cfg.getBool("TRAIN.AUTO_RESUME")) {
            List<String> held = runFiles();
            if (!held.isEmpty()) {
                throw new RunFailedException("OUT_DIR " + dir + " already holds a run (" + String.join(", ", held)
                        + ") and TRAIN.AUTO_RESUME is False: give an empty OUT_DIR, or TRAIN.AUTO_RESUME True to resume it");
            }
            return Optional.empty();
        }
        Optional<Checkpoint> last = store.loadLatest(layout);
        if (last.isPresent()) {
            int storedGpus = checkSameSettings(cfg, last.get());
            int gpus = cfg.getInt(ConfigDiff.REPLICAS);
            if (storedGpus != gpus) {
                Checkpoint c = last.get();
                LOG.warn("resuming on NUM_GPUS {} instead of {}: the global batch (TRAIN.BATCH_SIZE {}) and the lr schedule "
                        + "stay, each replica now takes {} images; batch statistics are per replica, so from epoch {} on the "
                        + "weights differ from a run that kept {} replicas", gpus, storedGpus, cfg.getInt("TRAIN.BATCH_SIZE"),
                        cfg.getInt("TRAIN.BATCH_SIZE") / gpus, c.epoch() + 2, storedGpus);
                List<NumGpusChange> changes = new java.util.ArrayList<>(c.numGpusChanges());
                changes.add(new NumGpusChange(c.epoch() + 1, storedGpus, gpus));
                return Optional.of(new Checkpoint(c.epoch(), c.step(), c.model(), c.emas(), c.optimizer(), c.testErr(),
                        c.testTop5Err(), c.emaErr(), c.emaTop5Err(), c.configYaml(), List.copyOf(changes), c.powerErrs()));
            }
        }
        return last;
    }

    /** Checks that only what may change on resume changed; returns the stored NUM_GPUS. */
    private int checkSameSettings(Config cfg, Checkpoint checkpoint) throws RunFailedException {
        Path where = new Path(store.directory(), Checkpoint.directoryName(checkpoint.epoch()));
        Config stored;
        try {
            stored = ConfigLoader.load(checkpoint.configYaml(), where + "/meta.json", List.of());
        } catch (ConfigException e) {
            throw new RunFailedException("cannot resume from " + where + ": its config does not read as this version's ("
                    + e.getMessage() + "); give another OUT_DIR");
        }
        List<String> changed = ConfigDiff.resultChanging(stored, cfg);
        if (!changed.isEmpty()) {
            throw new RunFailedException("cannot resume " + dir + " with other settings than it was trained with: "
                    + String.join("; ", changed) + " (stored → now): use its settings to resume, or give another OUT_DIR");
        }
        return stored.getInt(ConfigDiff.REPLICAS);
    }

    /** Files a writer that died left half-written (".config.yaml.tmp-...", ".metrics.jsonl.tmp-..."). */
    private int removeTemporaryFiles() throws IOException {
        int removed = 0;
        if (fs.exists(dir)) {
            for (FileStatus status : fs.listStatus(dir)) {
                if (status.isFile() && status.getPath().getName().startsWith(".") && status.getPath().getName().contains(".tmp-")) {
                    fs.delete(status.getPath(), false);
                    removed++;
                }
            }
        }
        return removed;
    }

    /** What of a run OUT_DIR holds (its lock aside). */
    private List<String> runFiles() throws IOException {
        if (!fs.exists(dir)) {
            return List.of();
        }
        return java.util.Arrays.stream(fs.listStatus(dir)).map(FileStatus::getPath).map(Path::getName)
                .filter(name -> !name.equals(RunLock.FILE)).sorted().toList();
    }

    /** OUT_DIR/config.yaml, replaced whole. */
    void writeConfig(Config cfg) throws IOException {
        Path temp = new Path(dir, "." + CONFIG + ".tmp-" + UUID.randomUUID());
        try (OutputStream out = fs.create(temp, false)) {
            out.write(cfg.toYaml().getBytes(StandardCharsets.UTF_8));
        }
        confirmHeld();
        Replace.replace(fs, temp, new Path(dir, CONFIG));
    }

    /** Fails if this run lost OUT_DIR's lock: it must not write there any more. */
    void confirmHeld() throws RunFailedException {
        try {
            lock.confirm();
        } catch (IOException e) {
            throw new RunFailedException(e.getMessage(), e);
        }
    }

    /** What is kept after a failure, and how to go on. */
    String resumeNote() {
        try {
            List<Path> committed = store.committed();
            return committed.isEmpty() ? "no checkpoint was written yet"
                    : "the last checkpoint, " + committed.get(committed.size() - 1) + ", is kept: run the same command again to resume from it";
        } catch (IOException e) {
            return "OUT_DIR could not be listed: " + e.getMessage();
        }
    }

    @Override
    public void close() throws IOException {
        lock.close();
    }
}
