package ai.emaspark.spark;

import ai.emaspark.config.Config;
import ai.emaspark.data.ShardInfo;
import ai.emaspark.data.ShardPlan;
import ai.emaspark.model.ModelState;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/** The functions Spark ships to executors: thin adapters onto {@link RankTask} and {@link EvalTask}. */
final class SparkFunctions {
    private SparkFunctions() {}

    /** Barrier-stage body: partition r is rank r. */
    static final class TrainPartition
            extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<RankResult>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Broadcast<EpochInputs> inputs;
        private final org.apache.spark.util.CollectionAccumulator<String> progress;

        TrainPartition(Broadcast<EpochInputs> inputs, org.apache.spark.util.CollectionAccumulator<String> progress) {
            this.inputs = inputs;
            this.progress = progress;
        }

        @Override
        public scala.collection.Iterator<RankResult> apply(scala.collection.Iterator<Integer> ranks) {
            try {
                RankResult result = RankTask.run(inputs.value(), BarrierTaskContext.get(), progress::add);
                return CollectionConverters.asScala(List.of(result).iterator());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** Precise BN statistics: partition r is replica r's share. */
    static final class PreciseBnPartition implements FlatMapFunction<Iterator<Integer>, PreciseBnTask.Result> {
        private static final long serialVersionUID = 1L;
        private final Config cfg;
        private final ShardPlan plan;
        private final int epoch;
        private final List<String> shards;
        private final int iterations;
        private final java.util.Map<String, String> hadoopSettings;
        private final Broadcast<ArrayList<ModelState>> states;

        PreciseBnPartition(Config cfg, ShardPlan plan, int epoch, List<String> shards, int iterations,
                           java.util.Map<String, String> hadoopSettings, Broadcast<ArrayList<ModelState>> states) {
            this.cfg = cfg;
            this.plan = plan;
            this.epoch = epoch;
            this.shards = List.copyOf(shards);
            this.iterations = iterations;
            this.hadoopSettings = new java.util.LinkedHashMap<>(hadoopSettings);
            this.states = states;
        }

        @Override
        public Iterator<PreciseBnTask.Result> call(Iterator<Integer> ranks) throws IOException {
            List<PreciseBnTask.Result> results = new ArrayList<>();
            while (ranks.hasNext()) {
                results.add(PreciseBnTask.run(cfg, plan, epoch, ranks.next(), shards, iterations,
                    HadoopSettings.configuration(hadoopSettings), states.value(), TaskContext.get()));
            }
            return results.iterator();
        }
    }

    /** Evaluation of some validation shards by the model and the EMA. */
    static final class EvalPartition implements FlatMapFunction<Iterator<ShardInfo>, EvalTask.Result> {
        private static final long serialVersionUID = 1L;
        private final Config cfg;
        private final Broadcast<ArrayList<ModelState>> states;
        private final String dir;
        private final java.util.Map<String, String> hadoopSettings;

        EvalPartition(Config cfg, String dir, java.util.Map<String, String> hadoopSettings, Broadcast<ArrayList<ModelState>> states) {
            this.cfg = cfg;
            this.dir = dir;
            this.hadoopSettings = new java.util.LinkedHashMap<>(hadoopSettings);
            this.states = states;
        }

        @Override
        public Iterator<EvalTask.Result> call(Iterator<ShardInfo> shards) throws IOException {
            List<ShardInfo> partition = new ArrayList<>();
            shards.forEachRemaining(partition::add);
            if (partition.isEmpty()) {
                return List.<EvalTask.Result>of().iterator();
            }
            List<String> paths = partition.stream().map(s -> dir + "/" + s.name()).toList();
            long[] rows = partition.stream().mapToLong(ShardInfo::rows).toArray();
            return List.of(EvalTask.run(cfg, paths, rows, HadoopSettings.configuration(hadoopSettings), states.value(),
                    TaskContext.get())).iterator();
        }
    }
}
