"""The wasm guests of examples/wasm, uploaded with RG.WASMEXECUTE: real values, and the same
values as the equivalent RG.PYEXECUTE on the same data.

The guests are built by scripts/build-guests.sh (scripts/test.sh runs it first and exports
GEARS_GUESTS_DIR); a missing guest fails the test rather than skip it.
"""
import os
import pathlib
import subprocess

import pytest
import redis

from gears_util import client, eventually, run

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUESTS = pathlib.Path(os.environ.get("GEARS_GUESTS_DIR", ROOT / "target" / "guests"))
EXAMPLES_PY = ROOT / "examples" / "python"

# compositions.wasm: WasmExampleOp -> (the Python operation, whether the order is defined)
OPS = {
    "count": ("count()", True),
    "countby": ("countby()", False),
    "distinct": ("distinct()", False),
    "avg": ("avg()", True),
    "sort": ("sort()", True),
    "sort_desc": ("sort(False)", True),
    "aggregate": ("aggregate(0, lambda a, r: a + int(r), lambda a, r: a + r)", True),
    "aggregateby": ("aggregateby(lambda v: v[0], 0, lambda k, a, r: a + int(r), lambda k, a, r: a + r)", False),
    "filter": ("filter(lambda v: int(v) % 2 == 0)", False),
    "flatmap": ("flatmap(lambda v: list(v))", False),
    "accumulate": ("accumulate(lambda a, r: (a if a else 0) + int(r))", True),
    "localgroupby": ("localgroupby(lambda v: v[0], lambda k, a, r: (a if a else 0) + int(r))", False),
    "groupby": ("groupby(lambda v: v[0], lambda k, a, r: (a if a else 0) + int(r))", False),
    "batchgroupby": ("batchgroupby(lambda v: v[0], lambda k, rs: len(rs))", False),
    "repartition": ("repartition(lambda v: v)", False),
}
VALUES = ["12", "15", "23", "12", "7", "30", "15"]


def module(name):
    path = GUESTS / ("%s.wasm" % name)
    if not path.exists():
        pytest.fail("%s is missing: run scripts/build-guests.sh (GEARS_GUESTS_DIR=%s)" % (path, GUESTS))
    return path.read_bytes()


def wasmexecute(r, name, *options):
    """RG.WASMEXECUTE [options] <module of examples/wasm/<name>>."""
    return r.execute_command("RG.WASMEXECUTE", *options, module(name))


def wasm_run(r, name, *options):
    res = wasmexecute(r, name, *options)
    assert isinstance(res, list) and len(res) == 2, res
    return res


def wasm_run_and_register(r, name, *options):
    """A module that registers and runs: RG.WASMEXECUTE replies OK (the registration branch, as
    RedisGears 1.2 does for a script calling both); the run's results come from its execution."""
    assert wasmexecute(r, name, *options) == "OK"
    runs = [e for e in r.execute_command("RG.DUMPEXECUTIONS") if int(e[5]) == 0]
    assert len(runs) == 1, runs
    res = r.execute_command("RG.GETRESULTSBLOCKING", runs[0][1])
    assert isinstance(res, list) and len(res) == 2, res
    return res


def normalized(results, ordered):
    results = [str(x) for x in results]
    return results if ordered else sorted(results)


def has_text(reply, text):
    """Whether `text` occurs in any string of a nested reply."""
    if isinstance(reply, (list, tuple)):
        return any(has_text(x, text) for x in reply)
    if isinstance(reply, dict):
        return any(has_text(x, text) for kv in reply.items() for x in kv)
    return isinstance(reply, str) and text in reply


@pytest.fixture
def c(server):
    r = client(server)
    r.flushall()
    yield r
    r.close()


@pytest.fixture
def fc(fresh_server):
    """A client of a server of its own (registrations do not outlive the test)."""
    r = client(fresh_server)
    yield r
    r.close()


def test_every_wasm_example_is_built():
    names = {"word_count", "audit_log", "stream_consumer", "generator", "compositions", "command_hook",
             "c_counter", "py_hello"}
    for n in names:
        assert len(module(n)) > 1000, n


def test_word_count_same_as_python_example(c):
    c.mset({"doc:1": "The quick brown fox", "doc:2": "the lazy dog, the end. Quick!", "other": "fox fox"})
    c.rpush("doc:list", "not", "a", "string")
    wasm = wasm_run(c, "word_count")
    assert wasm == [["the 3", "quick 2", "brown 1", "dog 1", "end 1", "fox 1", "lazy 1"], []]
    assert wasm == run(c, (EXAMPLES_PY / "word_count.py").read_text())


def test_word_count_uploads_with_redis_cli_x(server, c):
    c.mset({"doc:1": "b a", "doc:2": "a"})
    with open(GUESTS / "word_count.wasm", "rb") as f:
        out = subprocess.run(["redis-cli", "-p", str(server), "-x", "RG.WASMEXECUTE"], stdin=f,
                             capture_output=True, check=True, timeout=120)
    assert out.stdout.decode().split("\n")[:2] == ["a 2", "b 1"]


@pytest.mark.parametrize("op", sorted(OPS))
def test_compositions_same_as_python(c, op):
    for i, v in enumerate(VALUES):
        c.set("n:%d" % i, v)
    c.set("other", "99")
    pyop, ordered = OPS[op]
    c.execute_command("RG.CONFIGSET", "WasmExampleOp", op, "WasmExamplePattern", "n:*")
    wasm = wasm_run(c, "compositions")
    py = run(c, "GB().map(lambda r: r['value']).%s.run('n:*')" % pyop)
    assert wasm[1] == [] and py[1] == []
    assert normalized(wasm[0], ordered) == normalized(py[0], ordered)


def test_compositions_real_values(c):
    for i, v in enumerate(VALUES):
        c.set("n:%d" % i, v)
    expected = {
        "count": ["7"],
        "avg": [str(sum(map(int, VALUES)) / len(VALUES))],
        "sort": ["12", "12", "15", "15", "23", "30", "7"],  # strings, ascending
        "sort_desc": ["7", "30", "23", "15", "15", "12", "12"],
        "aggregate": [str(sum(map(int, VALUES)))],
        "distinct": sorted(set(VALUES)),
        "countby": sorted("{'key': '%s', 'value': %d}" % (v, VALUES.count(v)) for v in set(VALUES)),
        "batchgroupby": sorted(["{'key': '1', 'value': 4}", "{'key': '2', 'value': 1}",
                                "{'key': '7', 'value': 1}", "{'key': '3', 'value': 1}"]),
    }
    for op, want in expected.items():
        c.execute_command("RG.CONFIGSET", "WasmExampleOp", op, "WasmExamplePattern", "n:*")
        got = wasm_run(c, "compositions")
        assert got[1] == [], (op, got)
        assert normalized(got[0], OPS[op][1]) == want, op


def test_compositions_limit_takes_two_records(c):
    for i, v in enumerate(VALUES):
        c.set("n:%d" % i, v)
    c.execute_command("RG.CONFIGSET", "WasmExampleOp", "limit", "WasmExamplePattern", "n:*")
    results, errors = wasm_run(c, "compositions")
    assert errors == [] and len(results) == 2 and set(results) <= set(VALUES)


def test_compositions_no_input_gives_no_record_like_python(c):
    c.execute_command("RG.CONFIGSET", "WasmExampleOp", "count", "WasmExamplePattern", "none:*")
    assert wasm_run(c, "compositions") == [[], []]
    assert run(c, "GB().map(lambda r: r['value']).count().run('none:*')") == [[], []]


def test_compositions_failing_callback_gives_an_error_like_python(c):
    c.set("n:bad", "x")
    c.execute_command("RG.CONFIGSET", "WasmExampleOp", "aggregate", "WasmExamplePattern", "n:bad")
    wasm = wasm_run(c, "compositions")
    py = run(c, "GB().map(lambda r: r['value']).aggregate(0, lambda a, r: a + int(r), lambda a, r: a + r).run('n:bad')")
    assert wasm[0] == py[0] == []
    assert len(wasm[1]) == len(py[1]) == 1
    assert "invalid literal for int() with base 10: 'x'" in wasm[1][0]
    assert "invalid literal for int() with base 10: 'x'" in py[1][0]


def test_unknown_composition_rejects_the_upload(c):
    c.execute_command("RG.CONFIGSET", "WasmExampleOp", "nope")
    with pytest.raises(Exception) as e:
        wasmexecute(c, "compositions")
    assert "unknown WasmExampleOp nope" in str(e.value)


def test_generator_average_same_as_python(c):
    ages = []
    for i in range(250):  # more than one SCAN batch and more than one generate batch
        fields = {"name": "u%d" % i}
        if i % 7:
            fields["age"] = 20 + i % 50
            ages.append(20 + i % 50)
        c.hset("user:%d" % i, mapping=fields)
    wasm = wasm_run(c, "generator")
    assert wasm == [[str(sum(ages) / len(ages))], []]
    py = run(c, "GB('KeysOnlyReader').map(lambda k: execute('HGET', k, 'age'))"
                ".filter(lambda a: a is not None).avg().run('user:*')")
    assert wasm == py


def test_audit_log_sync_trigger_appends_every_write(fc):
    assert wasmexecute(fc, "audit_log", "ID", "audit") == "OK"
    fc.set("acct:1", "100")
    # sync: the entry is there when SET has replied
    entries = fc.xrange("audit:log")
    assert [e[1] for e in entries] == [{"key": "acct:1", "event": "set"}]
    fc.hset("acct:2", "f", "v")
    fc.incrby("acct:1", 5)
    fc.delete("acct:1")
    fc.set("other", "x")  # outside the prefix
    events = [(e[1]["key"], e[1]["event"]) for e in fc.xrange("audit:log")]
    assert events == [("acct:1", "set"), ("acct:2", "hset"), ("acct:1", "incrby"), ("acct:1", "del")]
    assert has_text(fc.execute_command("RG.DUMPREGISTRATIONS"), "acct:*")


def test_stream_consumer_aggregates_entries_into_sorted_set_and_hash(fc):
    assert wasmexecute(fc, "stream_consumer") == "OK"
    fc.xadd("scores:g1", {"player": "alice", "score": "10"})
    fc.xadd("scores:g1", {"player": "bob", "score": "7"})
    fc.xadd("scores:g2", {"player": "alice", "score": "2.5"})
    eventually(lambda: fc.zscore("leaderboard", "alice") == 12.5)
    eventually(lambda: fc.hgetall("stats:scores") == {"entries": "3", "scores:g1": "2", "scores:g2": "1"})
    assert fc.zrange("leaderboard", 0, -1, withscores=True) == [("bob", 7.0), ("alice", 12.5)]
    # a bad entry fails that record (lastError) and the stream goes on
    fc.xadd("scores:g1", {"player": "carol", "score": "lots"})
    eventually(lambda: has_text(fc.execute_command("RG.DUMPREGISTRATIONS"), "no numeric score"))
    fc.xadd("scores:g1", {"player": "carol", "score": "1"})
    eventually(lambda: fc.zscore("leaderboard", "carol") == 1.0)
    # a success clears lastError (as in RedisGears); the failure stays counted
    entry = fc.execute_command("RG.DUMPREGISTRATIONS")[0]
    data = entry[entry.index("RegistrationData") + 1]
    stats = dict(zip(data[0::2], data[1::2]))
    assert (stats["numFailures"], stats["numSuccess"], stats["lastError"]) == (1, 4, None)


def test_c_counter_counts_keys_and_counts_views(fc):
    for i in range(3):
        fc.set("page:%d" % i, "x")
    fc.set("other", "x")
    res = wasm_run_and_register(fc, "c_counter")
    assert [str(x) for x in res[0]] == ["3"] and res[1] == []
    assert res[0] == run(fc, "GB().count().run('page:*', convertToStr=False)")[0]
    fc.set("page:1", "y")
    fc.set("page:1", "z")
    fc.set("page:9", "new")
    fc.hset("page:h", "f", "v")  # not a set event
    assert fc.get("views:page:1") == "2"  # sync registration: counted before SET replied
    assert fc.get("views:page:9") == "1"
    assert fc.get("views:page:h") is None


def test_py_hello_maps_values_and_registers(fc):
    fc.mset({"greeting:1": "hello", "greeting:2": "wasm", "other": "x"})
    res = wasm_run_and_register(fc, "py_hello")
    assert sorted(res[0]) == ["HELLO", "WASM"] and res[1] == []
    py = run(fc, "GB().map(lambda r: r['value'].upper()).run('greeting:*')")
    assert sorted(res[0]) == sorted(py[0])
    fc.set("name:bob", "bob")
    eventually(lambda: fc.get("hello:bob") == "Hello, bob!")


def test_command_hook_upper_cases_set_values_through_call_next(fc):
    assert wasmexecute(fc, "command_hook") == "OK"
    assert fc.set("upper:1", "hello") is True
    assert fc.get("upper:1") == "HELLO"
    # options after the value reach the command itself
    assert fc.set("upper:2", "ttl", ex=100) is True
    assert fc.get("upper:2") == "TTL" and 0 < fc.ttl("upper:2") <= 100
    # keys outside the prefix are not hooked
    fc.set("lower:1", "hello")
    assert fc.get("lower:1") == "hello"
    # the command's own errors come back through call_next
    with pytest.raises(redis.ResponseError, match="syntax error"):
        fc.execute_command("SET", "upper:3", "v", "BOGUS")
    entry = fc.execute_command("RG.DUMPREGISTRATIONS")[0]
    assert entry[entry.index("reader") + 1] == "CommandReader"
