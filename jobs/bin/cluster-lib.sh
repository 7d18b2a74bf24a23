# Shared by cluster-start, cluster-stop and cluster-worker (sourced, not run): the names and
# addresses of a multi-host platform. NAME (EMASPARK_CLUSTER_NAME, default ems) and NET
# (EMASPARK_CLUSTER_NET, default 10.77.0) tell platforms apart on one machine:
#   bridge  NAMEbr0, NET.1/24 in the root namespace: the master, the driver and the embedded HDFS
#   worker i (1..N): namespace NAMEw<i>, veth NAMEv<i> (root side) <-> eth0 (inside), NET.<10+i>
jobs="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(dirname "$jobs")"
name="${EMASPARK_CLUSTER_NAME:-ems}"
dir="${EMASPARK_CLUSTER_DIR:-$jobs/target/cluster}"
net="${EMASPARK_CLUSTER_NET:-10.77.0}"
bridge="${name}br0"
master_host="$net.1"
master_port="${EMASPARK_CLUSTER_MASTER_PORT:-7077}"
master_ui_port="${EMASPARK_CLUSTER_UI_PORT:-8080}"
spark_home="${EMASPARK_SPARK_HOME:-$jobs/target/spark-home}"

worker_ns() { echo "${name}w$1"; }
worker_veth() { echo "${name}v$1"; }
worker_ip() { echo "$net.$((10 + $1))"; }

die() { echo "emaspark: error: $*" >&2; exit "${EXIT_CODE:-2}"; }

# Starts worker i inside its namespace; the executors it launches live there too. As on a fresh node,
# it starts with an empty environment and a home of its own (Java's user.home too), so an executor
# cannot lean on anything this shell, the driver or the build happened to set.
start_worker() {
  local i=$1 ns ip home java
  ns=$(worker_ns "$i")
  ip=$(worker_ip "$i")
  home="$dir/worker-$i/home"
  java=$(readlink -f "$(command -v java)")
  mkdir -p "$dir/worker-$i" "$home"
  # `ip netns exec` execs the command, so $! is the worker's JVM.
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin JAVA_HOME="$(dirname "$(dirname "$java")")" HOME="$home" \
    JAVA_TOOL_OPTIONS="-Duser.home=$home" \
    SPARK_HOME="$spark_home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP="$ip" \
    ${EMASPARK_CLUSTER_OWNER:+EMASPARK_CLUSTER_OWNER=$EMASPARK_CLUSTER_OWNER} \
    nohup ip netns exec "$ns" "$java" -Xmx256m -Djava.io.tmpdir="$dir/tmp" -cp "$spark_home/jars/*" \
    org.apache.spark.deploy.worker.Worker --host "$ip" --webui-port 8081 \
    --cores "$(cat "$dir/cores")" --memory "$(cat "$dir/memory")" --work-dir "$dir/worker-$i/work" \
    --properties-file "$dir/worker.conf" "spark://$master_host:$master_port" \
    > "$dir/worker-$i/worker.log" 2>&1 < /dev/null &
  echo $! > "$dir/worker-$i/pid"
}

# Kills every process inside worker i's namespace (its worker and executors), as a lost machine.
kill_namespace() {
  local ns pids
  ns=$(worker_ns "$1")
  ip netns list 2>/dev/null | grep -qw "$ns" || return 0
  pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -9 $pids 2>/dev/null || true
  for _ in $(seq 1 50); do
    [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
}

# Sends signal SIG to every process inside worker i's namespace (STOP: the machine hangs; CONT: it goes on).
signal_namespace() {
  local pids
  pids=$(ip netns pids "$(worker_ns "$1")" 2>/dev/null | tr '\n' ' ')
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -"$2" $pids 2>/dev/null || true
}

# Whether worker i's current process has registered with the master (its log is new per start).
registered() {
  grep -q "Successfully registered with master" "$dir/worker-$1/worker.log" 2>/dev/null
}
