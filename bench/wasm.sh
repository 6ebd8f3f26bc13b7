#!/usr/bin/env bash
# Wasm functions, side by side in one run (never run in CI). Prints one markdown table:
#  a. a no-op wasm function behind RG.TRIGGER (sync CommandReader registration) on gears-host
#     vs EVALSHA of `return 1` and FCALL of a no-op Lua function on redis-server 7.0
#     (redis-benchmark -c 50, -P 1 and -P 16);
#  b. a fresh instance and a warm call of the host's wasm runtime, in process (p50);
#  c. SET throughput on gears-host with a sync no-op wasm KeysReader registration on key:*
#     vs none (each case on a fresh server);
#  d. a CPU-bound guest (~50 ms per call) on engines with fuel / epoch interruption on vs off.
# The guests are built from WAT by tests/examples/wasm_bench.rs (no wasm toolchain needed),
# which also runs b and d.
#
#   bench/wasm.sh                  # defaults below
#   N=100000 ROUNDS=3 bench/wasm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-200000}"            # requests per redis-benchmark run
ROUNDS="${ROUNDS:-3}"       # interleaved rounds; the table shows medians
CLIENTS="${CLIENTS:-50}"
MICRO_N="${MICRO_N:-20000}" # instantiations / warm calls measured in process
BIN="${GEARS_HOST_BIN:-target/release/gears-host}"
TOOL=target/release/examples/wasm_bench
[ -x "$BIN" ] || cargo build --release -p gears-host
[ -x "$TOOL" ] || cargo build --release -p gears-tests --example wasm_bench
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do redis-cli -p "$1" PING >/dev/null 2>&1 && return; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

"$TOOL" guests "$WORK"
echo "dir $WORK" > "$WORK/gears.conf"

start_gears() { # port; starts gears-host, records its pid in GPID
  "$BIN" --port "$1" --config "$WORK/gears.conf" --loglevel warning &
  GPID=$!
  PIDS+=("$GPID")
  wait_up "$1"
}
stop_gears() { kill "$GPID"; wait "$GPID" 2>/dev/null || true; }
upload() { # port module
  local r
  r=$(redis-cli -p "$1" -x RG.WASMEXECUTE < "$2")
  [ "$r" = "OK" ] || { echo "RG.WASMEXECUTE $2: $r" >&2; exit 1; }
}
bench() { # label port pipeline args...
  local label=$1 port=$2 p=$3
  shift 3
  local ops
  ops=$(redis-benchmark -p "$port" -n "$N" -c "$CLIENTS" -P "$p" --csv "$@" 2>/dev/null | tail -1 | tr -d '"' | cut -d, -f2)
  echo "$label $p $ops" >> "$WORK/raw"
}

# a. RG.TRIGGER vs EVALSHA / FCALL.
RP=$(free_port)
redis-server --port "$RP" --save "" --appendonly no --daemonize no >/dev/null &
PIDS+=($!)
wait_up "$RP"
SHA=$(redis-cli -p "$RP" SCRIPT LOAD "return 1")
redis-cli -p "$RP" FUNCTION LOAD "$(printf '#!lua name=bench\nredis.register_function("noop", function() return 1 end)')" >/dev/null
GP=$(free_port)
start_gears "$GP"
upload "$GP" "$WORK/trigger.wasm"
[ "$(redis-cli -p "$GP" RG.TRIGGER noop)" = "noop" ] || { echo "RG.TRIGGER noop does not answer [[noop]]" >&2; exit 1; }
for _ in $(seq "$ROUNDS"); do
  for p in 1 16; do
    bench trigger "$GP" "$p" RG.TRIGGER noop
    bench evalsha "$RP" "$p" EVALSHA "$SHA" 0
    bench fcall "$RP" "$p" FCALL noop 0
  done
done
stop_gears

# c. SET with a sync no-op KeysReader registration vs none (fresh server per case).
for _ in $(seq "$ROUNDS"); do
  for case in none sync; do
    GP=$(free_port)
    start_gears "$GP"
    [ "$case" = sync ] && upload "$GP" "$WORK/keys.wasm"
    for p in 1 16; do
      bench "set-$case" "$GP" "$p" -t set
    done
    if [ "$case" = sync ]; then
      # The registration really ran: one success per SET.
      redis-cli -p "$GP" RG.DUMPREGISTRATIONS | grep -A1 -x numSuccess | tail -1 > "$WORK/numSuccess"
    fi
    stop_gears
  done
done

N="$MICRO_N" "$TOOL" micro > "$WORK/micro"
python3 - "$WORK/raw" "$WORK/micro" <<'PY'
import sys, statistics, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    case, p, ops = line.split()
    d[(case, p)].append(float(ops))
micro = open(sys.argv[2]).read().splitlines()
m = lambda c, p: statistics.median(d[(c, p)])
print("| | measure | gears-host | baseline | ratio / overhead | target |")
print("|---|---|---|---|---|---|")
for p in ("1", "16"):
    t, e, f = m("trigger", p), m("evalsha", p), m("fcall", p)
    print(f"| a | RG.TRIGGER no-op wasm vs EVALSHA `return 1`, -P {p} | {t:,.0f} ops/s | {e:,.0f} ops/s | {t / e:.2f}x | ≥ 1.5x |")
    print(f"| a | RG.TRIGGER no-op wasm vs FCALL no-op Lua, -P {p} | {t:,.0f} ops/s | {f:,.0f} ops/s | {t / f:.2f}x | |")
print("\n".join(l for l in micro if l.startswith("| b ")))
for p in ("1", "16"):
    s, n = m("set-sync", p), m("set-none", p)
    print(f"| c | SET, sync no-op KeysReader vs none, -P {p} | {s:,.0f} ops/s | {n:,.0f} ops/s | {100 * (s / n - 1):+.1f}% | ≤ 5% loss |")
print("\n".join(l for l in micro if l.startswith("| d ")))
PY
echo "(c: numSuccess of the last sync registration: $(cat "$WORK/numSuccess"))" >&2
