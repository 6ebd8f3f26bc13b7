#!/usr/bin/env bash
# Side-by-side throughput: a real redis-server and gears-host on free ports, redis-benchmark
# against each in turn (interleaved), several rounds; prints each test's median ops/s for both
# and the ratio gears-host / redis-server. Never run in CI.
#
#   bench/compare.sh                 # defaults below
#   ROUNDS=5 N=500000 bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
N="${N:-200000}"
CLIENTS="${CLIENTS:-50}"
TESTS="${TESTS:-set,get,incr,lpush,lpop,sadd,hset,zadd}"
# Keyspace size for __rand_int__ keys: empty (the issue's invocation: one key per test) or e.g.
# RANDOM_KEYS=100000 for a large keyspace.
RANDOM_KEYS="${RANDOM_KEYS:-}"
PIPELINES="${PIPELINES:-1 16}"
BIN="${GEARS_HOST_BIN:-target/release/gears-host}"
[ -x "$BIN" ] || cargo build --release -p gears-host
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RP=$(free_port); GP=$(free_port)
redis-server --port "$RP" --save "" --appendonly no --daemonize no >/dev/null &
RPID=$!
"$BIN" --port "$GP" --loglevel warning &
GPID=$!
trap 'kill $RPID $GPID 2>/dev/null; wait 2>/dev/null' EXIT
sleep 0.5
OUT=$(mktemp -d)
RFLAG=()
[ -n "$RANDOM_KEYS" ] && RFLAG=(-r "$RANDOM_KEYS")
run() { # port pipeline round label
  redis-benchmark -p "$1" -t "$TESTS" -n "$N" -c "$CLIENTS" -P "$2" "${RFLAG[@]}" --csv 2>/dev/null \
    | tail -n +2 | tr -d '"' | awk -F, -v l="$4" -v p="$2" '{print l" P"p" "$1" "$2}' >> "$OUT/raw"
  # redis-benchmark 7.0 has no built-in XADD test: run it as an explicit command.
  redis-benchmark -p "$1" -n "$N" -c "$CLIENTS" -P "$2" --csv XADD bench-stream '*' field value 2>/dev/null \
    | tail -n +2 | tr -d '"' | awk -F, -v l="$4" -v p="$2" '{print l" P"p" XADD "$2}' >> "$OUT/raw"
}
for r in $(seq "$ROUNDS"); do
  for p in $PIPELINES; do
    run "$RP" "$p" "$r" redis
    run "$GP" "$p" "$r" gears
  done
done
echo "| test | pipeline | redis-server ops/s | gears-host ops/s | ratio |"
echo "|---|---|---|---|---|"
python3 - "$OUT/raw" <<'PY'
import sys, statistics, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    who, p, test, ops = line.split(maxsplit=3)
    test = test.split()[0]
    d[(test, p, who)].append(float(ops))
tests = []
for (t, p, _) in d:
    if (t, p) not in tests:
        tests.append((t, p))
for t, p in tests:
    r = statistics.median(d[(t, p, "redis")])
    g = statistics.median(d.get((t, p, "gears"), [0]))
    print(f"| {t} | {p[1:]} | {r:,.0f} | {g:,.0f} | {g / r:.2f}x |")
PY
