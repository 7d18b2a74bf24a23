"""Runs the emaspark_train DAG in real Airflow, kills its train task's driver once, and records what
Airflow did. Run by AirflowDagIT with the python of `jobs/bin/py-venv jobs/airflow`, and by hand:

    python airflow_dag_test.py --project . --airflow-home /tmp/af --webhdfs localhost:9870 \
        --dataset hdfs://localhost:8020/data/sample-imagenet --raw hdfs://localhost:8020/data/sample-raw \
        --out-dir hdfs://localhost:8020/runs/airflow-1 --result /tmp/af/result.json \
        -- --properties-file conf/spark-local.conf

Steps: the DagBag of jobs/airflow loads without import errors; `dag.test()` runs one DAG run (the
quickstart config for --epochs epochs) in this process with Airflow's own scheduling loop, which
retries a failed task after its retry_delay; a watcher SIGKILLs the train task's spark-submit JVM
(and the executor JVMs it started) once OUT_DIR's first checkpoint exists, as a lost driver
machine would. Exit code 0 when the run succeeded after that kill; every task's tries go to
--result as JSON. Processes inherit this one's environment (EMASPARK_CLUSTER_OWNER included).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import urlopen
from urllib.error import HTTPError

DAG_ID = "emaspark_train"


def fail(message: str) -> None:
    print(f"emaspark: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def say(message: str) -> None:
    print(f"airflow-dag-test: {message}", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True, type=Path, help="the emaspark checkout (conf/, jobs/)")
    parser.add_argument("--airflow-home", required=True, type=Path, help="AIRFLOW_HOME: metadata DB and logs")
    parser.add_argument("--webhdfs", required=True, help="host:port of the NameNode's WebHDFS")
    parser.add_argument("--dataset", required=True, help="the prepared dataset (its manifest.json exists)")
    parser.add_argument("--raw", required=True, help="the raw sample (Prepare --src)")
    parser.add_argument("--out-dir", required=True, help="a fresh OUT_DIR for the DAG's run")
    parser.add_argument("--result", required=True, type=Path, help="where the JSON summary goes")
    parser.add_argument("--cfg", default="conf/quickstart.yaml")
    parser.add_argument("--epochs", type=int, default=3, help="OPTIM.MAX_EPOCH")
    parser.add_argument("--kill-after-checkpoint", type=int, default=1,
                        help="kill the train driver once this many checkpoints exist (0: no kill)")
    parser.add_argument("--retry-delay", type=float, default=1.0, help="seconds, instead of the DAG's minute")
    parser.add_argument("spark_args", nargs="*", help="after --: --properties-file FILE, --conf K=V, --master M")
    return parser.parse_args()


def spark_settings(spark_args: list[str]) -> tuple[str | None, dict[str, str]]:
    """The spark-submit options of the platform as the DAG takes them: a properties file and --conf."""
    properties_file, conf = None, {}
    it = iter(spark_args)
    for option in it:
        value = next(it, None)
        if value is None:
            fail(f"spark-submit option {option} needs a value")
        if option == "--properties-file":
            properties_file = value
        elif option == "--conf" and "=" in value:
            key, _, setting = value.partition("=")
            conf[key] = setting
        elif option == "--master":
            conf["spark.master"] = value
        else:
            fail(f"unsupported spark-submit option {option} {value} (expected --properties-file, --conf K=V, --master)")
    return properties_file, conf


def spark_master(properties_file: str | None, conf: dict[str, str]) -> str:
    """spark-submit's --master comes from the Airflow connection, so it must name the file's master."""
    if "spark.master" in conf:
        return conf["spark.master"]
    if properties_file:
        for line in Path(properties_file).read_text().splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0] == "spark.master":
                return parts[1].strip()
    fail("no spark.master in the spark-submit options or their properties file")
    raise AssertionError


def set_up_environment(args: argparse.Namespace, properties_file: str | None, master: str) -> None:
    """Airflow reads its configuration, connections and Variables from the environment at import."""
    project = args.project.resolve()
    env = {
        "AIRFLOW_HOME": str(args.airflow_home.resolve()),
        "AIRFLOW__CORE__DAGS_FOLDER": str(project / "jobs/airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": master}),
        "AIRFLOW_VAR_EMASPARK_HOME": str(project),
        "AIRFLOW_VAR_EMASPARK_WEBHDFS": f"http://{args.webhdfs}",
        # the project's spark-submit is the one SparkSubmitHook finds first on PATH
        "PATH": f"{project / 'jobs/bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if properties_file:
        env["AIRFLOW_VAR_EMASPARK_PROPERTIES_FILE"] = str(Path(properties_file).resolve())
    os.environ.update(env)
    args.airflow_home.mkdir(parents=True, exist_ok=True)


class DriverKiller(threading.Thread):
    """SIGKILLs the train driver (and its executor JVMs) once OUT_DIR holds enough checkpoints."""

    def __init__(self, webhdfs: str, out_dir: str, after: int) -> None:
        super().__init__(daemon=True)
        self.checkpoint = f"{urlparse(out_dir).path}/checkpoints/model_epoch_{after:04d}"
        self.url = f"http://{webhdfs}/webhdfs/v1{self.checkpoint}?op=GETFILESTATUS"
        self.out_dir = out_dir
        self.killed: dict | None = None
        self.stop = threading.Event()

    def exists(self) -> bool:
        try:
            with urlopen(self.url, timeout=10):
                return True
        except HTTPError as e:
            if e.code == 404:
                return False
            raise
        except OSError:  # URLError, a reset, a timeout: WebHDFS busy; ask again at the next poll
            return False

    def train_driver(self):
        """The spark-submit JVM of this run's Train: a descendant of this process, by its arguments."""
        import psutil

        for process in psutil.Process().children(recursive=True):
            try:
                cmdline = process.cmdline()
            except psutil.Error:
                continue
            if "ai.emaspark.jobs.Train" in cmdline and self.out_dir in cmdline:
                return process
        return None

    def run(self) -> None:
        import psutil

        while not self.stop.is_set() and not self.exists():
            time.sleep(0.5)
        if self.stop.is_set():
            return
        time.sleep(2)  # into the next epoch
        driver = self.train_driver()
        if driver is None:
            say(f"{self.checkpoint} exists but no train driver is running: nothing killed")
            return
        tree = driver.children(recursive=True) + [driver]
        for process in tree:
            try:
                process.kill()  # SIGKILL
            except psutil.NoSuchProcess:
                pass
        # No wait here: waiting would reap the driver, this process's child, and SparkSubmitHook's
        # Popen.wait() would then see exit code 0 instead of -9.
        self.killed = {"pid": driver.pid, "executors": len(tree) - 1, "after": self.checkpoint}
        say(f"killed the train driver (pid {driver.pid}) and {len(tree) - 1} executor JVM(s) "
            f"after {self.checkpoint} appeared")


def tries(dag_run) -> dict[str, list[dict]]:
    """Every try of every task: the earlier ones from Airflow's task instance history."""
    from sqlalchemy import select

    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session

    result: dict[str, list[dict]] = {}
    with create_session() as session:
        history = session.scalars(select(TaskInstanceHistory).where(
            TaskInstanceHistory.dag_id == DAG_ID, TaskInstanceHistory.run_id == dag_run.run_id)).all()
        for ti in history:
            result.setdefault(ti.task_id, []).append({"try": ti.try_number, "state": str(ti.state)})
        for ti in dag_run.get_task_instances(session=session):
            result.setdefault(ti.task_id, []).append({"try": ti.try_number, "state": str(ti.state)})
    for task_tries in result.values():
        task_tries.sort(key=lambda t: t["try"])
    return result


def main() -> int:
    args = parse_args()
    properties_file, conf = spark_settings(args.spark_args)
    master = spark_master(properties_file, conf)
    set_up_environment(args, properties_file, master)
    started = time.monotonic()

    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import upgradedb

    upgradedb()  # what `airflow db migrate` does: the metadata DB in AIRFLOW_HOME
    say(f"metadata DB ready in {time.monotonic() - started:.1f} s")

    bag = DagBag(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        fail(f"the DAG folder has import errors: {bag.import_errors}")
    dag = bag.get_dag(DAG_ID)
    if dag is None:
        fail(f"no DAG {DAG_ID} in {os.environ['AIRFLOW__CORE__DAGS_FOLDER']}")
    say(f"DagBag: {sorted(bag.dag_ids)}, no import errors; tasks {[t.task_id for t in dag.tasks]}")
    for task in dag.tasks:  # the test's only change to the DAG: it waits seconds, not a minute
        task.retry_delay = timedelta(seconds=args.retry_delay)

    run_conf = {
        "cfg": args.cfg,
        "overrides": ["OPTIM.MAX_EPOCH", str(args.epochs)],
        "raw": args.raw,
        "dataset": args.dataset,
        "out_dir": args.out_dir,
        "spark_conf": {k: v for k, v in conf.items() if k != "spark.master"},
    }
    say(f"dag.test with master {master}, conf {json.dumps(run_conf)}")
    killer = DriverKiller(args.webhdfs, args.out_dir, args.kill_after_checkpoint)
    if args.kill_after_checkpoint > 0:
        killer.start()
    run_started = time.monotonic()
    dag_run = dag.test(run_conf=run_conf)
    killer.stop.set()
    seconds = time.monotonic() - run_started

    summary = {"dag_run": str(dag_run.state), "seconds": round(seconds, 1), "killed": killer.killed,
               "tasks": tries(dag_run)}
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(summary, indent=2))
    for task_id, task_tries in summary["tasks"].items():
        say(f"task {task_id}: " + ", ".join(f"try {t['try']} {t['state']}" for t in task_tries))
    say(f"DAG run {summary['dag_run']} in {seconds:.1f} s ({time.monotonic() - started:.1f} s with Airflow's start)")
    if summary["dag_run"] != "success":
        fail(f"the DAG run ended {summary['dag_run']}; see the task logs in {args.airflow_home}/logs")
    if args.kill_after_checkpoint > 0 and killer.killed is None:
        fail("the train driver was never killed: the run finished before its first checkpoint was seen")
    return 0


if __name__ == "__main__":
    sys.exit(main())
