"""
### emaspark: prepare → train → report

Trains a pycls ImageNet classifier with emaspark (synchronous data-parallel SGD on Spark, an EMA of
the weights kept on the driver) and prints its per-epoch table.

1. **dataset_missing** looks for the prepared dataset's `manifest.json` over WebHDFS; when it is
   there, **prepare** is skipped.
2. **prepare** (`ai.emaspark.jobs.Prepare`) turns ImageNet as found on HDFS (`raw`) into Parquet
   shards (`dataset`).
3. **train** (`ai.emaspark.jobs.Train`) trains into `out_dir`. A failed try is retried with the same
   command, and the same command resumes: Train continues from `out_dir`'s last checkpoint (taking
   over a killed driver's lock after 15 s of silence), so a retry loses at most the running epoch.
4. **report** (`ai.emaspark.jobs.Report`) prints the per-epoch table and the checkpoint entries.

Per run: the params below. Per deployment, Airflow Variables (all optional):
`emaspark_home` (the project on the workers: `conf/`, `jobs/target/emaspark-jobs.jar`; default the
checkout holding this file), `emaspark_properties_file` (default `conf/spark-yarn-gpu.conf`),
`emaspark_webhdfs` (default `http://<dataset's NameNode>:9870`). The Spark master is the
`spark_default` connection's (`yarn` without one); `spark-submit` must be on the workers' PATH.
Drivers run in client mode, on the worker: a task's driver ends with its task.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import requests
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Param, TriggerRule, Variable, task

log = logging.getLogger("emaspark_train")  # DagBag loads this file under a mangled module name

# This file ships in <project>/jobs/airflow/: without the Variable, the project is that checkout.
CHECKOUT = str(Path(__file__).resolve().parent.parent.parent)


def project_path(path: str) -> str:
    """`path` itself when absolute, else the path under the project on the workers."""
    return str(Path(Variable.get("emaspark_home", default=CHECKOUT), path))


# Every spark-submit of this DAG: the project's jar, the cluster's properties file, extra --conf.
# Client mode whatever the properties file says: the driver lives and dies with its task, so a
# retry never meets the earlier try's driver still holding OUT_DIR, --cfg is read on the worker,
# and Report prints into the task's log.
SPARK = dict(
    conn_id="spark_default",
    deploy_mode="client",
    application="{{ project_path('jobs/target/emaspark-jobs.jar') }}",
    properties_file="{{ project_path(var.value.get('emaspark_properties_file', 'conf/spark-yarn-gpu.conf')) }}",
    conf="{{ params.spark_conf }}",
)

with DAG(
    dag_id="emaspark_train",
    description="emaspark: prepare ImageNet shards (once), train with an EMA, report",
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["emaspark", "spark", "training"],
    default_args={"owner": "ml-platform", "retries": 2, "retry_delay": timedelta(minutes=1)},
    # Templates give the params' own types (the overrides list, the conf dict), not their str().
    render_template_as_native_obj=True,
    user_defined_macros={"project_path": project_path},
    params={
        "cfg": Param("conf/resnet50_imagenet.yaml", type="string",
                     description="pycls config (Train --cfg); relative paths are under the project"),
        "overrides": Param(["NUM_GPUS", "8"], type="array", items={"type": "string"},
                           description="config overrides after --cfg: KEY VALUE KEY VALUE ..."),
        "raw": Param("hdfs://nn:8020/data/imagenet", type="string",
                     description="ImageNet as found on HDFS, ILSVRC2012 layout (Prepare --src)"),
        "dataset": Param("hdfs://nn:8020/data/imagenet-shards", type="string", pattern="^hdfs://",
                         description="the prepared dataset (Prepare --out, TRAIN.DATASET)"),
        "out_dir": Param("hdfs://nn:8020/runs/r50-ema", type="string",
                         description="this run's OUT_DIR: the same OUT_DIR again resumes"),
        "spark_conf": Param({}, type="object", description="extra spark-submit --conf KEY=VALUE settings"),
    },
) as dag:

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def dataset_missing(dataset: str) -> bool:
        """True (prepare runs) unless the prepared dataset's manifest.json exists."""
        namenode = urlparse(dataset)
        webhdfs = Variable.get("emaspark_webhdfs", default=f"http://{namenode.hostname}:9870")
        manifest = f"{dataset.rstrip('/')}/manifest.json"
        url = f"{webhdfs.rstrip('/')}/webhdfs/v1{namenode.path.rstrip('/')}/manifest.json"
        status = requests.get(url, params={"op": "GETFILESTATUS"}, timeout=30)
        if status.status_code == 404:
            log.info("%s does not exist: preparing the dataset", manifest)
            return True
        status.raise_for_status()
        log.info("%s exists: the dataset is prepared, prepare is skipped", manifest)
        return False

    prepare = SparkSubmitOperator(
        task_id="prepare",
        name="emaspark-prepare",
        java_class="ai.emaspark.jobs.Prepare",
        application_args="{{ ['--src', params.raw, '--out', params.dataset] }}",
        **SPARK,
    )
    train = SparkSubmitOperator(
        task_id="train",
        name="emaspark-train",
        java_class="ai.emaspark.jobs.Train",
        application_args="{{ ['--cfg', project_path(params.cfg), 'TRAIN.DATASET', params.dataset,"
                         " 'OUT_DIR', params.out_dir] + params.overrides }}",
        trigger_rule=TriggerRule.NONE_FAILED,  # runs after prepare, or when prepare was skipped
        **SPARK,
    )
    report = SparkSubmitOperator(
        task_id="report",
        name="emaspark-report",
        java_class="ai.emaspark.jobs.Report",
        application_args="{{ [params.out_dir] }}",
        **SPARK,
    )

    dataset_missing("{{ params.dataset }}") >> prepare >> train >> report
