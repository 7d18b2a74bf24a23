# Shared by the end-to-end benchmarks (bench-scaling, bench-vs-torchdistributor); sourced, not run.
# The multi-host platform, a prepared sample on the machine's disk (every namespace sees it, as NFS
# would), and one training run of ours summarised from its metrics.jsonl.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench_dir="${EMASPARK_BENCH_DIR:-$root/target/bench}"
jars="$root/jobs/target/emaspark-jobs.jar:$root/jobs/target/spark-home/jars/*"

bench_build() {
  [ -f "$root/jobs/target/emaspark-jobs.jar" ] || (cd "$root" && mvn -B -q -ntp -DskipTests package)
}

# bench_platform WORKERS [RATE]: (re)starts the platform with one 1-core worker per replica; stopped at exit.
bench_platform() {
  "$root/jobs/bin/cluster-start" --workers "$1" ${2:+--rate "$2"} > /dev/null
  trap '"$root/jobs/bin/cluster-stop" --quiet' EXIT
}

# bench_sample CLASSES PER_CLASS: prints the file: path of a prepared sample (made once, then reused).
bench_sample() {
  local name="sample-$1x$2" raw
  raw="$bench_dir/$name-raw"
  if [ ! -f "$bench_dir/$name/manifest.json" ]; then
    rm -rf "$raw" "$bench_dir/$name"
    mkdir -p "$bench_dir"
    java -cp "$jars" ai.emaspark.jobs.GenerateSample --out "file://$raw" --classes "$1" --train-per-class "$2" > /dev/null
    "$root/jobs/bin/spark-submit" --master 'local[2]' --conf spark.ui.enabled=false --class ai.emaspark.jobs.Prepare \
      "$root/jobs/target/emaspark-jobs.jar" --src "file://$raw" --out "file://$bench_dir/$name" --shard-mb 1 > /dev/null 2>&1
  fi
  echo "$bench_dir/$name"
}

# bench_ours LABEL DATASET [--conf K=V ...] [KEY VALUE ...]: one Train run of conf/quickstart.yaml on the
# platform (precise BN off: the TorchDistributor peer has none either), then one JSON line of its
# training epochs after the first: images/s over the stage's wall time and over the loop's phases,
# and the per-iteration breakdown.
bench_ours() {
  local label=$1 dataset=$2 out confs=() keys=()
  shift 2
  while [ $# -gt 0 ]; do
    if [ "$1" = --conf ]; then confs+=(--conf "$2"); else keys+=("$1" "$2"); fi
    shift 2
  done
  out="$bench_dir/runs/$label"
  rm -rf "$out"
  mkdir -p "$bench_dir/runs"
  "$root/jobs/bin/spark-submit" --properties-file "$root/jobs/target/cluster/spark.conf" \
    --conf spark.emaspark.paths.shared=true "${confs[@]}" --class ai.emaspark.jobs.Train "$root/jobs/target/emaspark-jobs.jar" \
    --cfg "$root/conf/quickstart.yaml" TRAIN.DATASET "file://$dataset" OUT_DIR "file://$out" BN.USE_PRECISE_STATS False \
    "${keys[@]}" > "$out.log" 2>&1 || { echo "emaspark: error: the run '$label' failed; see $out.log" >&2; return 1; }
  python3 - "$out/metrics.jsonl" "$label" <<'PY'
import json, sys
epochs = [r for r in map(json.loads, open(sys.argv[1])) if r["_type"] == "train_epoch"][1:]
phases = [k for k in epochs[0] if k.startswith("time_") and k not in ("time_avg", "time_epoch")]
iters = sum(e["iters"] for e in epochs)
stage = sum(e["time_epoch"] for e in epochs)
loop = sum(e["iters"] * sum(e[k] for k in phases) for e in epochs)
print(json.dumps({"peer": "emaspark", "label": sys.argv[2], "epochs": len(epochs), "iterations": iters,
                  "stage_seconds": round(stage, 3), "loop_seconds": round(loop, 3),
                  **{k: round(sum(e["iters"] * e[k] for e in epochs) / iters, 5) for k in phases}}))
PY
}
