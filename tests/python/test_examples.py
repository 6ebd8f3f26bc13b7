"""examples/python/*.py run exactly as their headers say: `redis-cli -x RG.PYEXECUTE < file`.

redis-cli prints the [results, errors] reply flat when its output is not a terminal: one line
per result, then the errors (an empty errors array prints an empty line).
"""
import os
import subprocess

import pytest
import redis

from conftest import free_port
from gears_util import client, eventually

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python")


def redis_cli_x(port, name):
    """`redis-cli -p <port> -x RG.PYEXECUTE < examples/python/<name>`: stdout lines."""
    with open(os.path.join(EXAMPLES, name), "rb") as f:
        out = subprocess.run(["redis-cli", "-p", str(port), "-x", "RG.PYEXECUTE"], stdin=f,
                             capture_output=True, check=True, timeout=60)
    return out.stdout.decode().split("\n")


@pytest.fixture
def c(server):
    r = client(server)
    r.flushall()
    yield r
    r.close()


def test_every_example_has_a_test():
    tested = {"word_count.py", "key_count_by_type.py", "hash_field_average.py", "numpy_map.py",
              "audit_log.py", "stream_to_zset.py", "write_behind.py"}
    assert set(f for f in os.listdir(EXAMPLES) if f.endswith(".py")) == tested


def test_word_count(server, c):
    c.mset({"doc:1": "The quick brown fox", "doc:2": "the lazy dog, the end. Quick!", "other": "fox fox"})
    c.rpush("doc:list", "not", "a", "string")
    assert redis_cli_x(server, "word_count.py") == [
        "the 3", "quick 2", "brown 1", "dog 1", "end 1", "fox 1", "lazy 1", "", ""]


def test_key_count_by_type(server, c):
    c.mset({"s1": "a", "s2": "b", "s3": "c"})
    c.rpush("l", "1")
    c.hset("h1", "f", "v")
    c.hset("h2", "f", "v")
    c.sadd("set", "m")
    c.zadd("z", {"m": 1})
    c.xadd("stream", {"f": "v"})
    assert redis_cli_x(server, "key_count_by_type.py") == [
        "hash 2", "list 1", "set 1", "string 3", "unknown 1", "zset 1", "", ""]


def test_hash_field_average(server, c):
    c.hset("person:1", mapping={"name": "Rick", "age": "70"})
    c.hset("person:2", mapping={"name": "Morty", "age": "14"})
    c.hset("person:3", mapping={"name": "Jerry"})
    c.hset("robot:1", mapping={"age": "1000"})
    c.set("person:4", "not a hash")
    assert redis_cli_x(server, "hash_field_average.py") == ["42.0", "", ""]
    c.flushall()
    assert redis_cli_x(server, "hash_field_average.py") == ["", "", ""]


def server_python_has_numpy(r):
    res, errs = r.execute_command(
        "RG.PYEXECUTE",
        "import importlib\nimportlib.invalidate_caches()\n"
        "GB('ShardsIDReader').map(lambda x: __import__('numpy').__name__).run()")
    return res == ["numpy"]


def test_numpy_map(server, c):
    if not server_python_has_numpy(c):
        # Install numpy into the Python the server embeds (its prefix), then retry.
        res, _ = c.execute_command(
            "RG.PYEXECUTE", "import sys\nGB('ShardsIDReader').map(lambda x: sys.prefix).run()")
        python = os.path.join(res[0], "bin", "python3")
        subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "numpy"],
                       check=True, timeout=600)
        assert server_python_has_numpy(c)
    c.rpush("series:a", "1", "2", "3", "4")
    c.rpush("series:b", "10", "10")
    c.set("series:c", "not a list")
    assert redis_cli_x(server, "numpy_map.py") == [
        "series:a n=4 mean=2.500 std=1.118", "series:b n=2 mean=10.000 std=0.000", "", ""]


# Registrations (issue 5): each on a server of its own, so nothing outlives the test.


def registrations(r):
    """RG.DUMPREGISTRATIONS as dicts, with RegistrationData as a dict too."""
    out = []
    for entry in r.execute_command("RG.DUMPREGISTRATIONS"):
        d = dict(zip(entry[0::2], entry[1::2]))
        data = d["RegistrationData"]
        d["RegistrationData"] = dict(zip(data[0::2], data[1::2]))
        out.append(d)
    return out


@pytest.fixture
def fc(fresh_server):
    r = client(fresh_server)
    yield r
    r.close()


def test_audit_log_records_every_write_before_the_reply(fresh_server, fc):
    assert redis_cli_x(fresh_server, "audit_log.py") == ["OK", ""]
    fc.set("account:1", "100")
    # sync: the entry exists as soon as SET replied
    assert [e[1] for e in fc.xrange("audit:log")] == [
        {"key": "account:1", "event": "set", "type": "string"}]
    fc.incrby("account:1", 5)
    fc.hset("account:2", "owner", "bob")
    fc.delete("account:1")
    fc.set("other", "x")  # outside the prefix
    fc.set("account:3", "1", px=20)
    eventually(lambda: len(fc.xrange("audit:log")) == 7)
    assert [(e[1]["key"], e[1]["event"], e[1]["type"]) for e in fc.xrange("audit:log")] == [
        ("account:1", "set", "string"), ("account:1", "incrby", "string"),
        ("account:2", "hset", "hash"), ("account:1", "del", "none"),
        ("account:3", "set", "string"), ("account:3", "expire", "string"),
        ("account:3", "expired", "none")]
    (reg,) = registrations(fc)
    assert reg["reader"] == "KeysReader" and reg["desc"] == "audit log of account:*"
    stats = reg["RegistrationData"]
    assert (stats["mode"], stats["numTriggered"], stats["numSuccess"], stats["numFailures"]) == (
        "sync", 7, 7, 0)


def test_stream_to_zset_sums_points_and_trims(fresh_server, fc):
    assert redis_cli_x(fresh_server, "stream_to_zset.py") == ["OK", ""]
    fc.xadd("score:g1", {"player": "alice", "points": "10"})
    fc.xadd("score:g1", {"player": "bob", "points": "7"})
    fc.xadd("score:g2", {"player": "alice", "points": "2.5"})
    eventually(lambda: fc.zrange("leaderboard", 0, -1, withscores=True) == [("bob", 7.0), ("alice", 12.5)])
    # trimStream: processed entries leave their stream
    eventually(lambda: fc.xlen("score:g1") == 0 and fc.xlen("score:g2") == 0)
    # a bad entry fails its batch; the registration goes on
    fc.xadd("score:g1", {"player": "carol", "points": "lots"})
    eventually(lambda: registrations(fc)[0]["RegistrationData"]["numFailures"] == 1)
    assert "could not convert string to float" in registrations(fc)[0]["RegistrationData"]["lastError"]
    fc.xadd("score:g1", {"player": "carol", "points": "1"})
    eventually(lambda: fc.zscore("leaderboard", "carol") == 1.0)
    assert registrations(fc)[0]["RegistrationData"]["lastError"] is None


@pytest.fixture
def backing_store():
    """A real redis-server on a free port: the write-behind's target."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL)
    r = redis.Redis(port=port, decode_responses=True)
    eventually(lambda: _pings(r))
    yield port, r
    r.close()
    proc.terminate()
    proc.wait(timeout=10)


def _pings(r):
    try:
        return r.ping()
    except redis.ConnectionError:
        return False


def test_write_behind_copies_hashes_to_a_real_redis(fresh_server, fc, backing_store):
    port, store = backing_store
    assert fc.execute_command("RG.CONFIGSET", "WriteBehindTarget", "127.0.0.1:%d" % port) == [
        "OK - value was saved in extra config dictionary"]
    assert redis_cli_x(fresh_server, "write_behind.py") == ["OK", ""]
    fc.hset("user:1", mapping={"name": "alice", "age": "30"})
    fc.hset("user:2", mapping={"name": "bob"})
    fc.set("other", "x")
    eventually(lambda: store.hgetall("user:1") == {"name": "alice", "age": "30"}
               and store.hgetall("user:2") == {"name": "bob"})
    fc.hdel("user:1", "age")
    eventually(lambda: store.hgetall("user:1") == {"name": "alice"})
    fc.delete("user:2")
    fc.hset("user:3", "name", "carol")
    fc.pexpire("user:3", 30)
    eventually(lambda: not store.exists("user:2") and not store.exists("user:3"))
    assert store.exists("other") == 0
    (reg,) = registrations(fc)
    assert reg["RegistrationData"]["numFailures"] == 0
    assert reg["RegistrationData"]["lastError"] is None
