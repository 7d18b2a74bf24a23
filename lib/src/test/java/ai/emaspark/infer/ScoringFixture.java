package ai.emaspark.infer;

import ai.djl.Device;
import ai.emaspark.checkpoint.Checkpoint;
import ai.emaspark.checkpoint.CheckpointStore;
import ai.emaspark.checkpoint.TestErrors;
import ai.emaspark.config.Config;
import ai.emaspark.config.ConfigLoader;
import ai.emaspark.data.Batch;
import ai.emaspark.data.BatchLoader;
import ai.emaspark.data.ImageLimits;
import ai.emaspark.data.ImageRow;
import ai.emaspark.data.ImageTransform;
import ai.emaspark.data.Manifest;
import ai.emaspark.data.SampleImageNet;
import ai.emaspark.ema.EmaBank;
import ai.emaspark.ema.PowerEma;
import ai.emaspark.model.ModelSpec;
import ai.emaspark.model.ModelState;
import ai.emaspark.model.PyclsInit;
import ai.emaspark.model.StateLayout;
import ai.emaspark.train.OptimizerState;
import ai.emaspark.train.Replica;
import ai.emaspark.train.SgdSettings;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A small world to score in, on the local file system: real JPEGs of the sample ImageNet, a prepared
 * dataset's manifest (4 classes), and a run whose checkpoints (ResNet-8 at 32 px, model and EMA from two
 * pycls inits, and a power EMA from a third in the last) CheckpointStore wrote; plus the logits the training job's evaluation path gives them.
 */
final class ScoringFixture {
    static final List<String> WNIDS = List.of("n01440764", "n01443537", "n01484850", "n01491361");
    static final List<String> NAMES = List.of("tench, Tinca tinca", "goldfish, Carassius auratus",
            "great white shark, white shark, man-eater", "tiger shark, Galeocerdo cuvieri");
    /** The evaluation's batch: TEST.BATCH_SIZE 6 / NUM_GPUS 1. */
    static final int BATCH = 6;

    final FileSystem fs;
    final Path root;
    final Path dataset;
    final Path outDir;
    final Config cfg;
    final StateLayout layout;
    final ModelState model;
    final ModelState ema;
    /** The power EMA p0.100 of the last checkpoint (a third pycls init). */
    final ModelState power;
    /** Checkpoints of epochs 1, 2, 3 (model_epoch_0001 ... 0003); the last also holds power EMA p0.100. */
    final List<Path> checkpoints = new ArrayList<>();
    final List<byte[]> jpegs = new ArrayList<>();

    ScoringFixture(java.nio.file.Path tmp) throws IOException {
        fs = FileSystem.getLocal(new Configuration());
        root = new Path(tmp.toUri());
        dataset = new Path(root, "dataset");
        outDir = new Path(root, "run");
        new Manifest(Manifest.FORMAT_VERSION, "test", WNIDS, Map.of(WNIDS.get(0), NAMES.get(0), WNIDS.get(1), NAMES.get(1),
                WNIDS.get(2), NAMES.get(2), WNIDS.get(3), NAMES.get(3)), Map.of()).write(fs, dataset);
        Path raw = new Path(root, "raw");
        new SampleImageNet(fs, raw, 5).write(4, 0, 4, false);
        FileStatus[] files = fs.listStatus(new Path(raw, "val"));
        Arrays.sort(files);
        for (FileStatus file : files) {
            try (InputStream in = fs.open(file.getPath())) {
                jpegs.add(in.readAllBytes());
            }
        }
        cfg = ConfigLoader.load("", "test", List.of("MODEL.TYPE", "resnet", "MODEL.DEPTH", "8", "MODEL.NUM_CLASSES", "4",
                "TRAIN.IM_SIZE", "32", "TEST.IM_SIZE", "36", "TEST.BATCH_SIZE", String.valueOf(BATCH), "NUM_GPUS", "1",
                "DATA_LOADER.NUM_WORKERS", "2", "TRAIN.DATASET", dataset.toString(), "OUT_DIR", outDir.toString()));
        try (Replica replica = new Replica(ModelSpec.of(cfg), SgdSettings.of(cfg), Device.cpu())) {
            layout = replica.tensors().layout();
        }
        model = PyclsInit.initialize(layout, 1, false);
        ema = PyclsInit.initialize(layout, 2, false);
        CheckpointStore store = new CheckpointStore(fs, outDir);
        power = PyclsInit.initialize(layout, 3, false);
        for (int epoch = 0; epoch < 2; epoch++) {
            // The model scored 40 % top-1 error, the EMA 30 %: "best" is the EMA.
            checkpoints.add(store.commit(new Checkpoint(epoch, 10L * (epoch + 1), model, ema,
                    OptimizerState.fresh(layout.gradientCount()), 40.0, 5.0, 30.0, 2.5, cfg.toYaml())));
        }
        // The last one also keeps a power EMA (EMA.POWER_SIGMA_RELS [0.10]), tested at 20 %.
        EmaBank emas = new EmaBank(ema, List.of(new EmaBank.Power(0.10, PowerEma.gamma(0.10), power)), 30);
        checkpoints.add(store.commit(new Checkpoint(2, 30, model, emas, OptimizerState.fresh(layout.gradientCount()), 40.0, 5.0,
                30.0, 2.5, cfg.toYaml(), List.of(), Map.of("p0.100", new TestErrors(2, 20.0, 1.5)))));
    }

    /**
     * The logits of the decodable images among {@code images}, in order, by the evaluation's code path
     * (EvalTask: BatchLoader with pycls's test transform, batches of the evaluation's size, Replica.logits).
     */
    float[] evaluationLogits(ModelState weights, List<byte[]> images) throws IOException {
        List<ImageRow> rows = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            rows.add(new ImageRow("image-" + i, null, 0, "", images.get(i), 0, 0, null));
        }
        ImageTransform test = ImageTransform.test(cfg.getInt("TRAIN.IM_SIZE"), cfg.getInt("TEST.IM_SIZE"))
                .withLimits(ImageLimits.ofPixels(cfg.getInt("DATA_LOADER.MAX_PIXELS")));
        int classes = WNIDS.size();
        float[] all = new float[images.size() * classes];
        int scored = 0;
        try (Replica replica = new Replica(ModelSpec.of(cfg), new SgdSettings(0, 0, false, 0), Device.cpu());
                BatchLoader loader = new BatchLoader(rows.iterator(), false, BATCH, test, 2)) {
            replica.load(weights);
            Batch batch = Batch.allocate(BATCH, cfg.getInt("TRAIN.IM_SIZE"));
            while ((batch = loader.next(batch)).count() > 0) {
                float[] logits = replica.logits(batch);
                System.arraycopy(logits, 0, all, scored * classes, batch.count() * classes);
                scored += batch.count();
            }
        }
        return Arrays.copyOf(all, scored * classes);
    }
}
