#!/usr/bin/env python3
"""The PySpark wrapper emaspark.infer.ImageClassifier scoring a prepared split, as a Python user runs it
(run by ai.emaspark.jobs.PySparkClassifierIT; by hand against any checkpoint and prepared split):

    pyspark_classifier.py --jar jobs/target/emaspark-jobs.jar --checkpoint hdfs://nn/runs/x/checkpoints/best \\
        --split hdfs://nn/data/sample-imagenet/val --saved /tmp/classifier [--conf spark.hadoop.K=V ...]

pyspark from PyPI (its own Spark) in local mode; the job jar is both spark.jars (the Java Transformer) and
spark.submit.pyFiles (this package at its root), as --jars and --py-files give them. The split's shards are
read one partition each in the manifest's order: for a split of one shard (the sample's val) that is the
evaluation's own task, so every batch holds the images it held there and the top-1 error must be the
checkpoint's. The classifier is then saved and loaded back, and the loaded one must predict the same.
Prints one line: PYSPARK_CLASSIFIER {json}.
"""

import argparse
import functools
import json
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jar", required=True, help="the job jar (jobs/target/emaspark-jobs.jar)")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--entry", default="ema")
    parser.add_argument("--split", required=True, help="a split of a prepared dataset: DATASET/val")
    parser.add_argument("--saved", required=True, help="where the classifier is saved and loaded back from")
    parser.add_argument("--java-options", default="", help="spark.driver.extraJavaOptions")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="more Spark settings")
    return parser.parse_args()


def session(args):
    builder = (SparkSession.builder.appName("pyspark_classifier").master("local[2]")
               .config("spark.jars", args.jar)
               .config("spark.submit.pyFiles", args.jar)
               .config("spark.driver.memory", "2g")
               .config("spark.driver.extraJavaOptions", args.java_options)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false"))
    for setting in args.conf:
        key, value = setting.split("=", 1)
        builder = builder.config(key, value)
    return builder.getOrCreate()


def read_split(spark, split):
    """The split's shards, one partition each, in manifest.json's order (the columns key, label, wnid, image)."""
    dataset, name = split.rstrip("/").rsplit("/", 1)
    manifest = json.loads(spark.read.text(dataset + "/manifest.json", wholetext=True).first()[0])
    shards = [f"{dataset}/{name}/{shard['name']}" for shard in manifest["splits"][name]["shards"]]
    return functools.reduce(DataFrame.unionByName, [spark.read.parquet(s) for s in shards]), len(shards)


def same_params(classifier):
    """The Python Params are the Java class's: the same names and the same defaults."""
    java = classifier._java_obj
    java_names = sorted(p.name() for p in java.params())
    python_names = sorted(p.name for p in classifier.params)
    assert python_names == java_names, f"Python Params {python_names} vs the Java class's {java_names}"
    java_defaults = {p.name(): java.getDefault(p).get() for p in java.params() if java.hasDefault(p)}
    python_defaults = {p.name: classifier.getOrDefault(p) for p in classifier.params if classifier.hasDefault(p)}
    assert python_defaults == java_defaults, f"Python defaults {python_defaults} vs the Java class's {java_defaults}"
    return python_names


def predictions(classifier, images):
    rows = classifier.transform(images).select("key", "label", F.col("prediction.class_index").alias("predicted"))
    return {r.key: (r.label, r.predicted) for r in rows.collect()}


def main():
    args = parse_args()
    start = time.time()
    spark = session(args)
    session_s = time.time() - start
    # Importable once the session exists: spark.submit.pyFiles put the jar on sys.path.
    import emaspark.infer
    from emaspark.infer import ImageClassifier

    module = emaspark.infer.__file__
    assert module.endswith(".jar/emaspark/infer.py"), f"emaspark.infer was not imported from the jar: {module}"
    classifier = ImageClassifier(checkpoint=args.checkpoint, entry=args.entry, inputCol="image", outputCol="prediction")
    params = same_params(classifier)

    images, shards = read_split(spark, args.split)
    scoring = time.time()
    scored = predictions(classifier, images)
    score_s = time.time() - scoring
    hits = sum(1 for label, predicted in scored.values() if predicted == label)
    predicted = sum(1 for _, p in scored.values() if p is not None)
    top1_err = 100.0 if not scored else 100.0 * (1.0 - hits / len(scored))  # ai.emaspark.eval.EvalCounts

    classifier.setTopK(3)
    classifier.write().overwrite().save(args.saved)
    loaded = ImageClassifier.load(args.saved)
    assert type(loaded) is ImageClassifier and loaded.uid == classifier.uid, (type(loaded), loaded.uid)
    # Saving records the SHA-256 of the weights it scores with (checkpointSha256): the one Param that differs.
    mismatched = [p.name for p in classifier.params
                  if p.name != "checkpointSha256" and loaded.getOrDefault(p.name) != classifier.getOrDefault(p)]
    assert not mismatched, f"Params that did not survive save and load: {mismatched}"
    same_predictions = predictions(loaded, images) == scored

    print("PYSPARK_CLASSIFIER " + json.dumps({
        "module": module, "params": params, "shards": shards, "images": len(scored),
        "predicted": predicted, "top1_hits": hits, "top1_err": top1_err, "loaded_uid": loaded.uid,
        "loaded_top_k": loaded.getTopK(), "loaded_sha256": loaded.getCheckpointSha256(),
        "loaded_predicts_the_same": same_predictions,
        "session_s": round(session_s, 1), "score_s": round(score_s, 1), "total_s": round(time.time() - start, 1),
    }), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
