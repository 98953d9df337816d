#!/usr/bin/env bash
# `make distributed`: one JS plugin over a generated dataset three ways,
#  1. `jsbox sql` in one process (DataFusion),
#  2. `jsbox sql --ballista` on a Ballista scheduler with one executor,
#     then with two, started here as separate processes on 127.0.0.1
#     (jsbox-ballista's binaries: the plugin travels with the plan),
#  3. `jsbox batch` over the same records as JSON Lines,
# checks Ballista's rows equal the single-process rows, prints rows/s for
# all three and the peak RSS of each executor, and stops every process it
# started (also on failure or Ctrl-C).
#
# JSBOX_DISTRIBUTED_ROWS sets the dataset's size (default 1000000);
# JSBOX_DISTRIBUTED_PROFILE the cargo profile of the binaries (default
# release, what a deployment runs; `dev` builds DataFusion and Ballista in
# a quarter of the time).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
rows="${JSBOX_DISTRIBUTED_ROWS:-1000000}"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$target/distributed"
profile="${JSBOX_DISTRIBUTED_PROFILE:-release}"
case "$profile" in dev) bin="$target/debug" ;; *) bin="$target/$profile" ;; esac

cargo build -q --profile "$profile" -p jsbox-cli -p jsbox-ballista

rm -rf "$work"
mkdir -p "$work/exec-0" "$work/exec-1"
export JSBOX_CACHE_DIR="$work/cache"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "distributed: nothing listens on port $1" >&2
  exit 1
}
now() { date +%s.%N; }
rate() { awk -v n="$rows" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", n / (b - a) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# The plugin: a string transform, as a SQL function (default export) and as
# a batch job over records (export `record`).
cat > "$work/tag.js" <<'JS'
const tag = (name) => name.trim().toLowerCase().split(' ').reverse().join('-');
module.exports = tag;
module.exports.record = (r) => ({ id: r.id, t: tag(r.name) });
JS

echo "distributed: generating $rows rows"
awk -v n="$rows" 'BEGIN { print "id,name"; for (i = 0; i < n; i++) printf "%d, Name %d Of %d \n", i, i % 977, i % 13 }' > "$work/data.csv"
awk -v n="$rows" 'BEGIN { for (i = 0; i < n; i++) printf "{\"id\":%d,\"name\":\" Name %d Of %d \"}\n", i, i % 977, i % 13 }' > "$work/data.jsonl"
"$bin/jsbox" sql "SELECT * FROM '$work/data.csv'" --output "$work/data.parquet"

scheduler_port="$(free_port)"
"$bin/jsbox-scheduler" --bind "127.0.0.1:$scheduler_port" > "$work/scheduler.log" 2>&1 &
pids+=($!)
wait_port "$scheduler_port"
executors=()
start_executor() {
  local n="$1" port grpc
  port="$(free_port)"; grpc="$(free_port)"
  "$bin/jsbox-executor" --port "$port" --grpc-port "$grpc" --scheduler "127.0.0.1:$scheduler_port" \
    --concurrent-tasks 1 --work-dir "$work/exec-$n" > "$work/executor-$n.log" 2>&1 &
  pids+=($!)
  executors+=($!)
  wait_port "$port"
  wait_port "$grpc"
}
start_executor 0
echo "distributed: scheduler on 127.0.0.1:$scheduler_port, executor ${executors[*]}"

query="SELECT id, tag(name) AS t FROM '$work/data.parquet'"
ballista() {
  "$bin/jsbox" sql "$query" --udf "tag=$work/tag.js" --jobs 2 --output "$1" --ballista "df://127.0.0.1:$scheduler_port"
}

# Every run below finds the plugin's compiled snapshot in the cache: the
# first would otherwise pay for building it (about a second) and look slower.
"$bin/jsbox" sql "SELECT tag(' warm up ') AS t" --udf "tag=$work/tag.js" > /dev/null

t0="$(now)"
"$bin/jsbox" sql "$query" --udf "tag=$work/tag.js" --jobs 2 --output "$work/local.csv"
t1="$(now)"
ballista "$work/ballista-1.csv"
t2="$(now)"
start_executor 1
t3="$(now)"
ballista "$work/ballista.csv"
t4="$(now)"
"$bin/jsbox" batch "$work/tag.js" --export record --input "$work/data.jsonl" --output "$work/batch.jsonl" --jobs 2 2> /dev/null
t5="$(now)"

rss() { awk '/^VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$1/status"; }
rss0="$(rss "${executors[0]}")"; rss1="$(rss "${executors[1]}")"

sort "$work/local.csv" > "$work/local.sorted"
local_rows=$(($(wc -l < "$work/local.csv") - 1))
for run in ballista-1 ballista; do
  sort "$work/$run.csv" > "$work/$run.sorted"
  if ! cmp -s "$work/local.sorted" "$work/$run.sorted"; then
    echo "distributed: Ballista's result ($run) differs from the single-process result" >&2
    diff "$work/local.sorted" "$work/$run.sorted" | head >&2
    exit 1
  fi
done
if [ "$local_rows" -ne "$rows" ] || [ "$(grep -c '^{"ok"' "$work/batch.jsonl")" -ne "$rows" ]; then
  echo "distributed: expected $rows rows everywhere (sql: $local_rows)" >&2
  exit 1
fi
echo "distributed: Ballista == single-process, row for row ($rows rows)"
echo "distributed: machine: $(nproc) cores; $profile profile"
printf "  %-34s %8s s %10s rows/s\n" \
  "jsbox sql (one process, 2 parts)" "$(secs "$t0" "$t1")" "$(rate "$t0" "$t1")" \
  "jsbox sql --ballista (1 executor)" "$(secs "$t1" "$t2")" "$(rate "$t1" "$t2")" \
  "jsbox sql --ballista (2 executors)" "$(secs "$t3" "$t4")" "$(rate "$t3" "$t4")" \
  "jsbox batch --jobs 2" "$(secs "$t4" "$t5")" "$(rate "$t4" "$t5")"
echo "  executor peak RSS: $rss0, $rss1"
