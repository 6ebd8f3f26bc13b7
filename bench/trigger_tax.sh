#!/usr/bin/env bash
# The cost of a keyspace trigger on writes: redis-benchmark SET throughput against gears-host
# with no registration, with a no-op sync Python KeysReader registration, and with an async one,
# side by side in one run (each case on a fresh server), at -P 1 and -P 16. Never run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-200000}"
ROUNDS="${ROUNDS:-3}"
BIN="${GEARS_HOST_BIN:-target/release/gears-host}"
[ -x "$BIN" ] || cargo build --release -p gears-host
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
OUT=$(mktemp)
declare -A CODE=(
  [none]=""
  [sync]="GB().foreach(lambda r: None).register(prefix='key:*', mode='sync')"
  [async]="GB().foreach(lambda r: None).register(prefix='key:*', mode='async_local')"
)
for round in $(seq "$ROUNDS"); do
  for case in none sync async; do
    PORT=$(free_port)
    "$BIN" --port "$PORT" --loglevel warning &
    PID=$!
    sleep 0.3
    if [ -n "${CODE[$case]}" ]; then
      redis-cli -p "$PORT" RG.PYEXECUTE "${CODE[$case]}" >/dev/null
    fi
    for p in 1 16; do
      ops=$(redis-benchmark -p "$PORT" -t set -n "$N" -c 50 -P "$p" --csv 2>/dev/null | tail -1 | tr -d '"' | cut -d, -f2)
      echo "$case $p $ops" >> "$OUT"
    done
    kill "$PID"; wait "$PID" 2>/dev/null || true
  done
done
echo "| registration | pipeline | SET ops/s (median) | vs none |"
echo "|---|---|---|---|"
python3 - "$OUT" <<'PY'
import sys, statistics, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    case, p, ops = line.split()
    d[(case, p)].append(float(ops))
for p in ("1", "16"):
    base = statistics.median(d[("none", p)])
    for case in ("none", "sync", "async"):
        m = statistics.median(d[(case, p)])
        print(f"| {case} | {p} | {m:,.0f} | {100 * (m / base - 1):+.1f}% |")
PY
