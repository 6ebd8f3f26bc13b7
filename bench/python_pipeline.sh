#!/usr/bin/env bash
# A map/filter/count pipeline over N hash keys (default 1M), three ways, side by side:
#   gears   RG.PYEXECUTE of GB('KeysReader').map(age).filter(adult).count().run('user:*')
#   python  the same lambdas in plain CPython 3.11 over an in-memory list of the same records
#           (the dicts KeysReader gives: {'event', 'key', 'type', 'value': {field: value}})
#   lua     EVAL of a SCAN + HGET loop doing the same count on a real redis-server
# Prints the per-record time of each and the ratios. Never run in CI.
#
#   bench/python_pipeline.sh           # N=1000000 ROUNDS=3
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-1000000}"
ROUNDS="${ROUNDS:-3}"
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

python3 - "$N" "$ROUNDS" "$RP" "$GP" <<'PY'
import random, statistics, subprocess, sys, time
import redis

n, rounds, rport, gport = (int(a) for a in sys.argv[1:])
rng = random.Random(7)
ages = [rng.randrange(100) for _ in range(n)]


def load(port):
    """Writes the N hashes with redis-cli --pipe (raw RESP)."""
    out = bytearray()
    for i, a in enumerate(ages):
        k, v, nm = f"user:{i}".encode(), str(a).encode(), f"name{i}".encode()
        parts = [b"HSET", k, b"age", v, b"name", nm]
        out += b"*%d\r\n" % len(parts)
        for p in parts:
            out += b"$%d\r\n%s\r\n" % (len(p), p)
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=bytes(out), check=True,
                   stdout=subprocess.DEVNULL)


expected = sum(1 for a in ages if a >= 50)
for port in (rport, gport):
    load(port)
    assert redis.Redis(port=port).dbsize() == n

GEARS = ("GB('KeysReader').map(lambda r: int(r['value']['age']))"
         ".filter(lambda a: a >= 50).count().run('user:*')")
LUA = """
local cursor, count = '0', 0
repeat
  local r = redis.call('SCAN', cursor, 'MATCH', 'user:*', 'COUNT', 1000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do
    if tonumber(redis.call('HGET', k, 'age')) >= 50 then count = count + 1 end
  end
until cursor == '0'
return count
"""

g = redis.Redis(port=gport, decode_responses=True)
r = redis.Redis(port=rport, decode_responses=True)
records = [{"event": None, "key": f"user:{i}", "type": "hash",
            "value": {"age": str(a), "name": f"name{i}"}} for i, a in enumerate(ages)]


def plain():
    age = lambda r: int(r["value"]["age"])
    adult = lambda a: a >= 50
    return sum(1 for _ in filter(adult, map(age, records)))


times = {"gears": [], "python": [], "lua": []}
for _ in range(rounds):
    t = time.perf_counter(); res = g.execute_command("RG.PYEXECUTE", GEARS)
    times["gears"].append(time.perf_counter() - t)
    assert res == [[str(expected)], []], res
    t = time.perf_counter(); c = plain()
    times["python"].append(time.perf_counter() - t)
    assert c == expected
    t = time.perf_counter(); c = r.eval(LUA, 0)
    times["lua"].append(time.perf_counter() - t)
    assert c == expected

med = {k: statistics.median(v) for k, v in times.items()}
print(f"records: {n}, rounds: {rounds} (median)")
print("| way | total s | per record µs | vs plain CPython |")
print("|---|---|---|---|")
for k in ("gears", "python", "lua"):
    print(f"| {k} | {med[k]:.3f} | {med[k] / n * 1e6:.3f} | {med[k] / med['python']:.2f}x |")
print(f"gears vs lua: {med['lua'] / med['gears']:.2f}x faster")
PY
