#!/usr/bin/env bash
# benches/fleet.sh — issue 20's benchmark: `doctor` over a fleet of real-control-plane worlds (issue 16: etcd,
# kube-apiserver, controller-manager and scheduler built by tools/world/build.sh, kube-sim as the node running
# INSTANCES real Prometheus processes, and kube-sim's knob proxy in front of each API server adding a fixed delay per
# API request, default 50 ms, and counting TLS connections), and the TLS connections each verb opens. Prints every
# figure with its target as a PASS/FAIL line. Run by benches/perf.sh after issue 10's figures, or alone:
#
#   bash benches/fleet.sh           # needs root, Debian's prometheus (the pods' v2.42) and the built world
#                                   # (tools/world/build.sh); each world holds ~0.7 GB, six of them run at once
#
# Knobs (environment): LATENCY=50ms CLUSTERS=5 INSTANCES=4 REPEAT=3 (runs per figure; the median is reported),
# HANG_BOUND=10s (--cluster-timeout of the run with a hanging cluster), BUILD=0 to use the release binaries already
# in $CARGO_TARGET_DIR/release.
# Exit status: 0 when every target is met, 1 when one is missed, 2 when the machine cannot run it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

LATENCY=${LATENCY:-50ms}
CLUSTERS=${CLUSTERS:-5}
INSTANCES=${INSTANCES:-4}
REPEAT=${REPEAT:-3}
HANG_BOUND=${HANG_BOUND:-10s}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

if [ "$(id -u)" != 0 ] || ! command -v prometheus >/dev/null || ! command -v kubectl >/dev/null; then
  echo "SKIP: the benchmark needs root, prometheus and kubectl (kube-sim runs Prometheus pods as real processes)" >&2
  exit 2
fi
# The real control plane's binaries (kube-sim exits 77 without them; this says why first, and builds nothing: a cold
# world build takes 12–15 minutes).
tools/world/build.sh --check > /dev/null ||
  { echo "SKIP: the real control plane is not built; run tools/world/build.sh first" >&2; exit 2; }
if [ "${BUILD:-1}" != 0 ]; then
  echo "building release binaries (kubectl-prom, kube-sim) into $TARGET_DIR ..." >&2
  cargo build --release --locked -p kubectl-prom --bin kubectl-prom -p kube-sim --bin kube-sim >&2
fi
BIN=$TARGET_DIR/release

WORK=$(mktemp -d /tmp/kubectl-prom-fleet.XXXXXX)
SIM_PIDS=()
cleanup() {
  for pid in "${SIM_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${SIM_PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
mkdir -p "$WORK/scenarios" "$WORK/home"

# One cluster: N hand-made Prometheus Deployments (one replica on emptyDir) in team-N namespaces.
scenario() {
  local name=$1 n=$2
  {
    echo "kind: SimScenario"
    echo "name: $name"
    echo "description: \"benches/fleet.sh: $n hand-made Prometheus instances\""
    for i in $(seq 0 $((n - 1))); do
      cat <<EOF
---
apiVersion: v1
kind: Namespace
metadata: {name: team-$i}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: prometheus-config, namespace: team-$i}
data:
  prometheus.yml: |
    global:
      scrape_interval: 15s
    scrape_configs:
    - job_name: prometheus
      static_configs:
      - targets: ['localhost:9090']
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus, namespace: team-$i, labels: {app: prometheus}}
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector: {matchLabels: {app: prometheus}}
  template:
    metadata: {labels: {app: prometheus}}
    spec:
      containers:
      - name: prometheus
        image: prom/prometheus:v2.42.0
        args: [--config.file=/etc/prometheus/prometheus.yml, --storage.tsdb.path=/prometheus, --web.enable-lifecycle]
        ports: [{containerPort: 9090}]
        readinessProbe: {httpGet: {path: /-/ready, port: 9090}}
        volumeMounts: [{name: config, mountPath: /etc/prometheus}, {name: data, mountPath: /prometheus}]
      volumes:
      - {name: config, configMap: {name: prometheus-config}}
      - {name: data, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata: {name: prometheus, namespace: team-$i}
spec:
  selector: {app: prometheus}
  ports: [{port: 9090, targetPort: 9090}]
EOF
    done
  } > "$WORK/scenarios/$name.yaml"
}
scenario bench-fleet "$INSTANCES"
scenario bench-hang 1

# start NAME SCENARIO [kube-sim flags...]: a real-control-plane world in $WORK/NAME (the scenario applied through its
# real API server); its kubeconfig path in $WORK/NAME.kubeconfig. --latency and --fault act in the knob proxy the
# kubeconfig points at, never on the control plane's own components or the node.
start() {
  local name=$1 scen=$2; shift 2
  KUBE_SIM_SCENARIOS=$WORK/scenarios "$BIN/kube-sim" up --control-plane real --scenario "$scen" --dir "$WORK/$name" \
    --latency "$LATENCY" "$@" \
    > "$WORK/$name.out" 2> "$WORK/$name.err" &
  SIM_PIDS+=($!)
}
wait_started() {
  local name=$1
  for _ in $(seq 1 600); do
    grep -q '^export KUBECONFIG=' "$WORK/$name.out" 2>/dev/null && break
    sleep 0.5
  done
  sed -n 's/^export KUBECONFIG=//p' "$WORK/$name.out" > "$WORK/$name.kubeconfig"
  [ -s "$WORK/$name.kubeconfig" ] || { cat "$WORK/$name.err" >&2; echo "kube-sim $name did not start" >&2; exit 2; }
}
NAMES=()
for c in $(seq 1 "$CLUSTERS"); do NAMES+=("fleet-$c"); start "fleet-$c" bench-fleet; done
# The hanging cluster: its API server never answers doctor's Endpoints reads (the knob proxy's `hang` fault: the
# request is held open, never forwarded), everything else as usual (so it starts and its pods become Ready like the
# others).
start hang-1 bench-hang --fault 'hang:GET:/endpoints:1000000'
for n in "${NAMES[@]}" hang-1; do wait_started "$n"; done

# The merged kubeconfig: each cluster's own (kube-sim names them all kube-sim; users[0] is its admin) renamed to its
# context name.
for n in "${NAMES[@]}" hang-1; do
  kubectl config view --raw -o json --kubeconfig "$(cat "$WORK/$n.kubeconfig")" > "$WORK/$n.json"
done
python3 - "$WORK" "${NAMES[@]}" hang-1 > "$WORK/fleet.kubeconfig" <<'EOF'
import json, sys
work, names = sys.argv[1], sys.argv[2:]
merged = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [], "current-context": names[0]}
for n in names:
    k = json.load(open(f"{work}/{n}.json"))
    merged["clusters"].append({"name": n, "cluster": k["clusters"][0]["cluster"]})
    merged["users"].append({"name": n, "user": k["users"][0]["user"]})
    merged["contexts"].append({"name": n, "context": {"cluster": n, "user": n}})
print(json.dumps(merged))
EOF
export KUBECONFIG=$WORK/fleet.kubeconfig HOME=$WORK/home NO_COLOR=1

for n in "${NAMES[@]}" hang-1; do
  want=$INSTANCES; [ "$n" = hang-1 ] && want=1
  for _ in $(seq 1 240); do
    ready=$(kubectl --context "$n" get deploy -A -l app=prometheus -o jsonpath='{range .items[*]}{.status.readyReplicas}{"\n"}{end}' | grep -c '[1-9]' || true)
    [ "$ready" -ge "$want" ] && break
    sleep 1
  done
  echo "$n: $ready/$want instances ready" >&2
done

# Each context's server URL, read once from the merged file: not with kubectl per read, since the machine's kubectl
# may be a wrapper that asks the current context's server for its version on every run (Google Cloud SDK's
# dispatcher does), which would add a TLS connection to fleet-1 between every two counter reads.
declare -A SERVER
while read -r n url; do SERVER[$n]=$url; done < <(python3 -c 'import json, sys
for c in json.load(open(sys.argv[1]))["clusters"]: print(c["name"], c["cluster"]["server"])' "$KUBECONFIG")
server_of() { echo "${SERVER[$1]}"; }
# TLS connections cluster NAME has accepted so far (the knob proxy's counter; this read's own connection included).
connections() { curl -sk "$(server_of "$1")/kube-sim/stats" | sed -n 's/.*"connections":\([0-9]*\).*/\1/p'; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
FAILS=0
check() {
  local label=$1 value=$2 op=$3 limit=$4 unit=${5:-}
  if awk -v v="$value" -v l="$limit" "BEGIN { exit !(v $op l) }"; then
    printf 'PASS  %-58s %10s %-3s (target %s %s)\n' "$label" "$value" "$unit" "$op" "$limit"
  else
    printf 'FAIL  %-58s %10s %-3s (target %s %s)\n' "$label" "$value" "$unit" "$op" "$limit"
    FAILS=$((FAILS + 1))
  fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
# wall NAME CMD...: median wall time (ms) of REPEAT runs; the last run's stdout/stderr in $WORK/NAME.{out,err}.
wall() {
  local name=$1; shift
  local walls=() t0
  for _ in $(seq 1 "$REPEAT"); do
    t0=$(now_ms)
    "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || true
    walls+=($(($(now_ms) - t0)))
  done
  printf '%s\n' "${walls[@]}" | median
}
# The slowest reachable cluster's elapsedMs in a fleet JSON report (the hanging one left out).
slowest_other() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(max(c["elapsedMs"] for c in r["clusters"] if not c["context"].startswith("hang")))' "$1"; }

P=$BIN/kubectl-prom
"$P" doctor -A --context fleet-1 > /dev/null 2>&1 || true   # warm-up: the first proxy requests wake a fresh Prometheus

# 1. TLS connections per command, each against one cluster (the counter's delta less the counter read's own).
echo
echo "== TLS connections per command (fleet-1, latency $LATENCY)"
conn_of() {
  local ctx=$1; shift
  local before after
  before=$(connections "$ctx")
  "$P" --context "$ctx" "$@" > "$WORK/conn.out" 2> "$WORK/conn.err" || true
  after=$(connections "$ctx")
  echo $((after - before - 1))
}
C_DOCTOR=$(conn_of fleet-1 doctor -n team-0)
C_DOCTOR_A=$(conn_of fleet-1 doctor -A)
C_RELOAD=$(conn_of fleet-1 reload -n team-0 --yes)
C_RESIZE=$(conn_of fleet-1 resize -n team-0 --add 1Gi --dry-run --yes)
C_FIXPERMS=$(conn_of fleet-1 fix-perms -n team-0 --dry-run --yes)
C_COMPLETE=$(conn_of fleet-1 __complete reload -n team-0 "")
echo "   doctor -n: $C_DOCTOR; doctor -A: $C_DOCTOR_A; reload: $C_RELOAD (one HTTP/2 connection for the API, one HTTP/1.1"
echo "   connection per exec session: one per pod, the mounted-file read and promtool in one); resize --dry-run: $C_RESIZE (emptyDir: refused at"
echo "   pre-flight); fix-perms --dry-run: $C_FIXPERMS; completion: $C_COMPLETE"
check "TLS connections: doctor -n" "$C_DOCTOR" "<=" 2
check "TLS connections: doctor -A ($INSTANCES instances)" "$C_DOCTOR_A" "<=" 2
check "TLS connections: reload (API requests + exec sessions)" "$C_RELOAD" "<=" 2
check "TLS connections: resize --dry-run" "$C_RESIZE" "<=" 2
check "TLS connections: fix-perms --dry-run" "$C_FIXPERMS" "<=" 2
check "TLS connections: completion" "$C_COMPLETE" "<=" 2

# 2. The fleet against one of its clusters.
ONE_MS=$(wall one "$P" doctor -A --context fleet-1)
FLEET_MS=$(wall fleet "$P" doctor -A --context-glob 'fleet-*' -o json)
cp "$WORK/fleet.out" "$WORK/fleet.json"
REPORTED=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(sum(1 for c in r["clusters"] if "instances" in c))' "$WORK/fleet.json")
INSTANCES_SEEN=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["summary"]["instances"])' "$WORK/fleet.json")
declare -A CONN_BEFORE
for n in "${NAMES[@]}"; do CONN_BEFORE[$n]=$(connections "$n"); done
/usr/bin/time -f '%M %U %S' -o "$WORK/fleet.rss" "$P" doctor -A --context-glob 'fleet-*' > /dev/null 2>&1 || true
read -r RSS_KB FLEET_USER FLEET_SYS < <(tail -1 "$WORK/fleet.rss")
# The CPU each run spent (user + system): on a shared machine the wall ratio moves with the load, the CPU does not.
/usr/bin/time -f '%U %S' -o "$WORK/one.cpu" "$P" doctor -A --context fleet-1 > /dev/null 2>&1 || true
read -r ONE_USER ONE_SYS < <(tail -1 "$WORK/one.cpu")
FLEET_CPU=$(awk -v u="$FLEET_USER" -v s="$FLEET_SYS" 'BEGIN { printf "%.2f", u + s }')
ONE_CPU=$(awk -v u="$ONE_USER" -v s="$ONE_SYS" 'BEGIN { printf "%.2f", u + s }')
MAX_CONN=0
for n in "${NAMES[@]}"; do
  c=$(( $(connections "$n") - CONN_BEFORE[$n] - 1 ))   # the read after the run is a connection of its own
  [ "$c" -gt "$MAX_CONN" ] && MAX_CONN=$c
done
echo
echo "== doctor over $CLUSTERS clusters × $INSTANCES instances (latency $LATENCY each)"
echo "   one cluster (doctor -A --context fleet-1): ${ONE_MS} ms; the fleet (--context-glob 'fleet-*'): ${FLEET_MS} ms,"
echo "   $REPORTED clusters reported, $INSTANCES_SEEN instances; at most $MAX_CONN TLS connection(s) per cluster; peak RSS $((RSS_KB / 1024)) MiB"
echo "   CPU (user + system): the fleet ${FLEET_CPU} s, one cluster ${ONE_CPU} s; load $(cut -d' ' -f1 /proc/loadavg)"
check "fleet: clusters reported" "$REPORTED" "==" "$CLUSTERS"
check "fleet: wall time / one cluster" "$(ratio "$FLEET_MS" "$ONE_MS")" "<=" 1.5 "x"
check "fleet: peak RSS" "$((RSS_KB / 1024))" "<=" 96 "MiB"
check "fleet: TLS connections per cluster" "$MAX_CONN" "<=" 2

# 3. The same fleet plus one cluster that hangs: the others' time is their own.
BASE=() HUNG=() HANG_WALLS=()
for _ in $(seq 1 "$REPEAT"); do
  "$P" doctor -A --context-glob 'fleet-*' -o json > "$WORK/base.json" 2>/dev/null || true
  BASE+=("$(slowest_other "$WORK/base.json")")
  t0=$(now_ms)
  "$P" doctor -A --all-contexts --cluster-timeout "$HANG_BOUND" -o json > "$WORK/hang.json" 2> "$WORK/hang.err" || HANG_CODE=$?
  HANG_WALLS+=($(($(now_ms) - t0)))
  HUNG+=("$(slowest_other "$WORK/hang.json")")
done
BASE_MS=$(printf '%s\n' "${BASE[@]}" | median)
HUNG_MS=$(printf '%s\n' "${HUNG[@]}" | median)
HANG_WALL=$(printf '%s\n' "${HANG_WALLS[@]}" | median)
HANG_STATE=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print([c["error"]["message"] for c in r["clusters"] if c["context"] == "hang-1"][0])' "$WORK/hang.json")
echo
echo "== the fleet with hang-1 hanging (--cluster-timeout $HANG_BOUND): the slowest other cluster ${HUNG_MS} ms vs ${BASE_MS} ms"
echo "   without it; whole run ${HANG_WALL} ms, exit ${HANG_CODE:-0}; hang-1: $HANG_STATE"
check "fleet with a hanging cluster: the others' time / without it" "$(ratio "$HUNG_MS" "$BASE_MS")" "<=" 1.2 "x"
check "fleet with a hanging cluster: exit code" "${HANG_CODE:-0}" "==" 3

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$FAILS fleet target(s) missed"
[ "$FAILS" = 0 ]
