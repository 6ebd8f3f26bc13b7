#!/usr/bin/env bash
# Runs the Redis 7.0 Tcl units (../shared/redis-tests) against the gears-host binary on a free
# port and compares the failures with tests/tcl/known-failures.txt: any failure not listed there
# fails the run; listed ones that now pass are reported so the list can shrink.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="${GEARS_HOST_BIN:-$ROOT/target/release/gears-host}"
SUITE="${REDIS_TESTS:-$ROOT/../shared/redis-tests}"
[ -x "$BIN" ] || { echo "gears-host binary not found at $BIN" >&2; exit 2; }
[ -x "$SUITE/run.sh" ] || { echo "redis test suite not found at $SUITE" >&2; exit 2; }
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$BIN" --port "$PORT" --loglevel warning &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
for _ in $(seq 100); do
  (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.05
done
OUT=$(mktemp)
LOGS=$(mktemp -d)
LOG_DIR="$LOGS" UNIT_TIMEOUT="${UNIT_TIMEOUT:-300}" "$SUITE/run.sh" 127.0.0.1 "$PORT" "$@" | tee "$OUT"
# Each failing test as "unit: test name", read from the per-unit logs (-a: logs may hold
# binary bytes echoed by tests).
: > "$OUT.fails"
for log in "$LOGS"/*.log; do
  unit=$(basename "$log" .log | sed 's|_|/|; s|_|/|')
  grep -aE '^\[(err|exception)\]:' "$log" \
    | sed -E 's/^\[(err|exception)\]: //; s/ in tests\/unit.*$//' \
    | sed "s|^|$unit: |" >> "$OUT.fails"
done
grep -E 'TIMEOUT|CRASH' "$OUT" | awk '{print $1": unit timeout or crash"}' >> "$OUT.fails"
sort -u -o "$OUT.fails" "$OUT.fails"
KNOWN="$ROOT/tests/tcl/known-failures.txt"
unexpected=$(grep -vxF -f <(grep -v '^#' "$KNOWN" | sed '/^$/d') "$OUT.fails" || true)
fixed=$(grep -v '^#' "$KNOWN" | sed '/^$/d' | grep -vxF -f "$OUT.fails" || true)
if [ -n "$fixed" ]; then
  echo "== known failures that now pass (remove them from tests/tcl/known-failures.txt):"
  echo "$fixed"
fi
if [ -n "$unexpected" ]; then
  echo "== unexpected Tcl failures:"
  echo "$unexpected"
  exit 1
fi
echo "== tcl: no unexpected failures"
