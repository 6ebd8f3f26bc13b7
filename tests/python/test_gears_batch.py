"""RedisGears 1.2 conformance, part 1: batch executions with RG.PYEXECUTE.

Ports the batch assertions of RedisGears' own pytest suite (test_basics.py, test_errors.py and
the batch parts of the others; the spec's section 7 lists them) and adds the exact reply shapes
and error texts of rg-spec sections 1-3, 5 and 6.2-6.5. Clients talk RESP2, as RedisGears'
tests do; one test checks that RESP3 gives the same shapes.
"""
import os
import re
import subprocess
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from conftest import start_server, stop_server
from gears_util import (
    client_opts,
    DEFAULT_CONFIG,
    SHARD,
    client,
    error_of,
    eventually,
    pyexecute,
    raw,
    run,
)

TRACEBACK_NOTEXISTS = (
    "['Traceback (most recent call last):\\n', "
    "'  File \"<string>\", line 1, in <lambda>\\n', "
    "\"NameError: name 'notexists' is not defined\\n\"]"
)
INFINITE = "def spin(x):\n    while True:\n        pass\nGB('ShardsIDReader').map(spin).run()"


@pytest.fixture
def g(server):
    """A RESP2 client on the shared server, empty keyspace, RedisGears defaults restored."""
    c = client(server)
    c.flushall()
    yield c
    c.execute_command("RG.CONFIGSET", *DEFAULT_CONFIG)
    c.close()


@pytest.fixture
def fresh(fresh_server):
    """A RESP2 client on a server of its own (ids from 0, no sessions)."""
    c = client(fresh_server)
    yield c
    c.close()


@pytest.fixture
def hundred(g):
    """Keys '0'..'99' holding their own names (RedisGears' testBasic class)."""
    g.mset({str(i): str(i) for i in range(100)})
    return g


@pytest.fixture
def xyz(g):
    g.mset({"x": "1", "y": "2", "z": "3"})
    return g


def status(r, eid):
    return r.execute_command("RG.GETEXECUTION", eid)[0][3][1]


def finish(r, eid):
    """Waits until the execution stopped running, then drops it."""
    eventually(lambda: status(r, eid) in ("done", "aborted"))
    assert r.execute_command("RG.DROPEXECUTION", eid) == "OK"


# --------------------------------------------------------------------------------------------
# 7.1 batch basics (test_basics.py)
# --------------------------------------------------------------------------------------------


def test_shards_id_reader_runs_once_per_shard(hundred):
    res = run(hundred, "GB('ShardsIDReader').map(lambda x: int(execute('dbsize')))"
                       ".aggregate(0, lambda r, x: x, lambda r, x: r + x).run()")
    assert res == [["100"], []]


def test_keys_only_reader_feeds_execute(hundred):
    res = run(hundred, "GearsBuilder('KeysOnlyReader').map(lambda x: int(execute('get', x)))"
                       ".aggregate(0, lambda r, x: r + x, lambda r, x: r + x).run()")
    assert res == [["4950"], []]


def test_avg_of_values_is_true_division(hundred):
    assert run(hundred, "GearsBuilder().map(lambda x: int(x['value'])).avg().run()") == [["49.5"], []]


def test_aggregate_sums(hundred):
    res = run(hundred, "GearsBuilder().map(lambda x: int(x['value']))"
                       ".aggregate(0, lambda r, x: x + r, lambda r, x: x + r).run()")
    assert res == [["4950"], []]


def test_count_counts_records(hundred):
    assert run(hundred, "GearsBuilder().count().run()") == [["100"], []]


def test_sort_default_is_ascending(hundred):
    res = run(hundred, "GearsBuilder().map(lambda x: int(x['value'])).sort().run()")
    assert res == [[str(i) for i in range(100)], []]


def test_sort_reverse_false_is_descending(hundred):
    res = run(hundred, "GB().map(lambda x: int(x['value'])).sort(False).run()")
    assert res == [[str(i) for i in reversed(range(100))], []]
    res = run(hundred, "GB().map(lambda x: int(x['value'])).sort(reverse=False).run()")
    assert res == [[str(i) for i in reversed(range(100))], []]


def test_countby_groups_by_extracted_value(g):
    g.mset({str(i): "100" if i % 2 else "0" for i in range(100)})
    res, errs = run(g, "GB().countby(lambda x: x['value']).run()")
    assert errs == []
    assert sorted(res) == ["{'key': '0', 'value': 50}", "{'key': '100', 'value': 50}"]
    assert {"value": 50, "key": "0"} in [eval(x) for x in res]


def test_local_aggregateby_helper(g):
    g.mset({str(i): "100" if i % 2 else "0" for i in range(100)})
    res, errs = run(g, "GB().__localAggregateby__(lambda x: x['value'], 0, lambda k, a, x: 1 + a)"
                       ".map(lambda x: (x['key'], x['value'])).run()")
    assert errs == []
    assert sorted(eval(x) for x in res) == [("0", 50), ("100", 50)]


def test_unblocking_query_then_getresultsblocking_and_drop(hundred):
    eid = pyexecute(hundred, "GearsBuilder().map(lambda x: str(x)).collect().run()", "UNBLOCKING")
    assert re.fullmatch(SHARD + r"-\d+", eid)
    res, errs = hundred.execute_command("RG.GETRESULTSBLOCKING", eid)
    assert errs == []
    assert sorted(eval(x)["key"] for x in res) == sorted(str(i) for i in range(100))
    for x in res:
        d = eval(x)
        assert d == {"value": d["key"], "type": "string", "event": None, "key": d["key"]}
    assert hundred.execute_command("RG.DROPEXECUTION", eid) == "OK"


def test_filter_and_map_queries(hundred):
    res, errs = run(hundred, "GB().filter(lambda x: int(x['value']) % 2 == 0).run()")
    assert len(res) == 50 and errs == []
    res, errs = run(hundred, "GB().map(lambda x: x['value']).run()")
    assert sorted(res, key=int) == [str(i) for i in range(100)] and errs == []


def test_groupby_counts_per_key(g):
    g.mset({str(i): "100" if i % 2 else "0" for i in range(100)})
    res, errs = run(g, "GB().groupby(lambda x: str(x['value']), "
                       "lambda key, a, vals: 1 + (a if a else 0)).run()")
    assert errs == []
    assert sorted(res) == ["{'key': '0', 'value': 50}", "{'key': '100', 'value': 50}"]


def test_accumulate_then_collect_then_accumulate(hundred):
    res, errs = run(hundred, "GB().map(lambda x: int(x['value']))"
                             ".accumulate(lambda a, x: x + (a if a else 0)).collect()"
                             ".accumulate(lambda a, x: x + (a if a else 0)).run()")
    assert errs == [] and int(res[0]) == 4950


def test_execute_accepts_bytes_and_bytearray(server, g):
    g.set("x", "1")
    b = client(server, decode_responses=False)
    for arg in ("bytes([1, 2, 3])", "bytearray([1, 2, 3])"):
        g.delete("y")
        res = run(g, "GB().repartition(lambda x: 'y').foreach(lambda x: execute('set', 'y', %s)).run('x')" % arg)
        assert res[1] == []
        assert b.get("y") == b"\x01\x02\x03"


def test_keys_only_reader_patterns(g):
    g.mset({"xx": "1", "xy": "1", "y": "1"})
    assert set(run(g, "GB('KeysOnlyReader').run()")[0]) == {"xx", "xy", "y"}
    assert set(run(g, "GB('KeysOnlyReader', defaultArg='x*').run()")[0]) == {"xx", "xy"}
    assert set(run(g, "GB('KeysOnlyReader', defaultArg='xx').run()")[0]) == {"xx"}
    assert set(run(g, "GB('KeysOnlyReader').run('x*')")[0]) == {"xx", "xy"}
    assert set(run(g, "GB('KeysOnlyReader').run('xx')")[0]) == {"xx"}


def test_flatmap_list_value(g):
    g.lpush("l", "1", "2", "3")
    res, errs = run(g, "GB().flatmap(lambda x: x['value']).collect().run()")
    assert sorted(res) == ["1", "2", "3"] and errs == []


def test_limit_and_limit_with_offset(g):
    g.lpush("l", "1", "2", "3")
    res, errs = run(g, "GB().flatmap(lambda x: x['value']).limit(1).run()")
    assert len(res) == 1 and errs == []
    g.delete("l")
    g.lpush("l", "1", "2", "3", "4", "5")
    # The value is ['5','4','3','2','1'] and flatmap emits it last to first: 1,2,3,4,5.
    assert run(g, "GB().flatmap(lambda x: x['value']).limit(1, 3).run()") == [["4"], []]


def test_repartition_and_write(xyz):
    res = run(xyz, "GB().repartition(lambda x: x['value'])"
                   ".foreach(lambda x: redisgears.executeCommand('set', x['value'], x['key'])).run('[xyz]')")
    assert res[1] == [] and len(res[0]) == 3
    assert [xyz.get("1"), xyz.get("2"), xyz.get("3")] == ["x", "y", "z"]


def test_stream_reader_run(g):
    g.xadd("stream", {"test": "1"})
    res, errs = run(g, "GearsBuilder('StreamReader').run('stream')")
    assert errs == [] and len(res) == 1
    assert eval(res[0])["value"]["test"] == "1"


def test_null_bytes_survive_records_and_execute(g):
    g.set("x", "test\x00test")
    res = run(g, "GB().foreach(lambda x: execute('set', 'bar', str(x['value']))).run('x')")
    assert res[1] == []
    assert g.get("bar") == "test\x00test"


def test_set_values_are_none_and_smembers_works(g):
    g.sadd("s", "1", "2", "3")
    res = run(g, "GB().map(lambda x: x['value']).run()")
    assert res == [["None"], []]
    res = run(g, "GB().map(lambda x: execute('smembers', x['key'])).flatmap(lambda x: x).sort().run()")
    assert res == [["1", "2", "3"], []]


def test_max_executions_per_registration_keeps_the_newest(fresh):
    # rg-spec 2.4: a registration keeps its newest MaxExecutionsPerRegistration executions.
    assert fresh.execute_command("RG.CONFIGSET", "MaxExecutionsPerRegistration", "2") == ["OK"]
    assert pyexecute(fresh, "GB().register(prefix='mepr:*', mode='sync')") == "OK"
    for i in range(5):
        fresh.set("mepr:%d" % i, i)
    done = fresh.execute_command("RG.DUMPEXECUTIONS")
    assert len(done) == 2 and all(e[3] == "done" for e in done)


def test_max_executions_evicts_oldest(fresh):
    assert fresh.execute_command("RG.CONFIGSET", "MaxExecutions", "3") == ["OK"]
    ids = [pyexecute(fresh, "GB('ShardsIDReader').run()", "UNBLOCKING") for _ in range(5)]
    assert ids == ["%s-%d" % (SHARD, i) for i in range(5)]
    dumped = lambda: sorted(e[1] for e in fresh.execute_command("RG.DUMPEXECUTIONS"))
    eventually(lambda: all(e[3] == "done" for e in fresh.execute_command("RG.DUMPEXECUTIONS")))
    assert dumped() == ids[2:]
    assert error_of(fresh, "RG.GETRESULTS", ids[0]) == "execution plan does not exist"
    # A blocking run evicts one more, then is dropped after replying.
    assert run(fresh, "GB('ShardsIDReader').run()") == [["1"], []]
    assert dumped() == ids[3:]
    # 0 disables eviction.
    fresh.execute_command("RG.CONFIGSET", "MaxExecutions", "0")
    more = [pyexecute(fresh, "GB('ShardsIDReader').run()", "UNBLOCKING") for _ in range(3)]
    eventually(lambda: dumped() == sorted(ids[3:] + more))


def test_one_key_scan_with_patterns(g):
    with g.pipeline(transaction=False) as p:
        for i in range(2000):
            p.set("pref-%d" % i, "1")
        p.set("x", "1")
        p.execute()
    assert run(g, "GB().count().run('pref*')") == [["2000"], []]
    assert run(g, "GB().count().run('x*')") == [["1"], []]


def test_globals_shared_between_functions_of_a_session(g):
    script = ("counter = 0\n"
              "def inc(x):\n"
              "    global counter\n"
              "    counter += 1\n"
              "    return x\n"
              "def read(x):\n"
              "    return counter\n"
              "GB('ShardsIDReader').map(inc).map(inc).map(read).run()")
    assert run(g, script) == [["2"], []]
    # A new RG.PYEXECUTE is a new session with fresh globals.
    assert run(g, script) == [["2"], []]


def test_sessions_do_not_share_globals(g):
    g.set("x", "1")
    script = ("if 'x' not in globals().keys():\n"
              "    x = 1\n"
              "def returnX(a):\n"
              "    global x\n"
              "    x += 1\n"
              "    return x\n"
              "GB().map(returnX).run()")
    assert run(g, script) == [["2"], []]
    assert run(g, script) == [["2"], []]


def test_parallel_execution_while_another_spins(g):
    eid = pyexecute(g, INFINITE, "UNBLOCKING")
    try:
        eventually(lambda: status(g, eid) == "running")
        assert run(g, "GB('ShardsIDReader').count().run()") == [["1"], []]
    finally:
        assert g.execute_command("RG.ABORTEXECUTION", eid) == "OK"
    finish(g, eid)


def test_config_get_from_extra_dictionary(g):
    g.execute_command("RG.CONFIGSET", "TestConfig", "TestVal")
    res = run(g, "GB('ShardsIDReader').map(lambda x: (GearsConfigGet('TestConfig'), "
                 "GearsConfigGet('NotExists', 'default'))).collect().distinct().run()")
    assert res == [["('TestVal', 'default')"], []]
    res = run(g, "GB('ShardsIDReader').map(lambda x: (configGet('TestConfig'), configGet('NotExists'), "
                 "gearsConfigGet('NotExists', 3), configGet('MaxExecutions'))).run()")
    # configGet reads only the extra dictionary: core keys are not there.
    assert res == [["('TestVal', None, 3, None)"], []]


def test_python_keys_set_at_runtime_are_visible_to_config_get(g):
    g.execute_command("RG.CONFIGSET", "PythonAttemptTraceback", "0")
    assert run(g, "GB('ShardsIDReader').map(lambda x: configGet('PythonAttemptTraceback')).run()") == [["0"], []]


def test_atomic_block(g):
    script = ("def f(x):\n"
              "    with atomic():\n"
              "        execute('set', 'a', '1')\n"
              "        execute('set', 'b', '2')\n"
              "    return [execute('get', 'a'), execute('get', 'b')]\n"
              "GB('ShardsIDReader').flatmap(f).sort().run()")
    assert run(g, script) == [["1", "2"], []]


def test_atomic_block_keeps_other_clients_out(g):
    script = ("import time\n"
              "def f(x):\n"
              "    with atomic():\n"
              "        execute('set', 'a', '1')\n"
              "        time.sleep(0.5)\n"
              "        execute('set', 'a', '2')\n"
              "    return 'done'\n"
              "GB('ShardsIDReader').map(f).run()")
    eid = pyexecute(g, script, "UNBLOCKING")
    # Every GET sees either no key (before the block) or the final value, never '1'.
    first = eventually(lambda: g.get("a"))
    assert first == "2"
    assert g.execute_command("RG.GETRESULTSBLOCKING", eid) == [["done"], []]
    g.execute_command("RG.DROPEXECUTION", eid)


def test_atomic_nesting_and_exit_errors(g):
    msg = error_of(g, "RG.PYEXECUTE", "a = atomic()\na.__enter__()\na.__enter__()")
    assert msg.endswith("gears.error: Already inside an atomic block\\n']")
    msg = error_of(g, "RG.PYEXECUTE", "atomic().__exit__(None, None, None)")
    assert "Not inside an atomic block" in msg
    res = run(g, "def f(x):\n    with atomic():\n        return isInAtomicBlock()\n"
                 "GB('ShardsIDReader').map(f).map(lambda x: [x, isInAtomicBlock()]).run()")
    assert res == [["[True, False]"], []]


def test_stream_reader_from_id(g):
    id1 = g.xadd("s", {"foo": "bar", "foo1": "bar1"})
    g.xadd("s", {"foo2": "bar2", "foo3": "bar3"})
    res, errs = run(g, "GB('StreamReader').map(lambda x: x['value']).run('s')")
    assert errs == []
    assert [eval(x) for x in res] == [{"foo": "bar", "foo1": "bar1"}, {"foo2": "bar2", "foo3": "bar3"}]
    res, errs = run(g, "GB('StreamReader').map(lambda x: x['value']).run('s', fromId='%s')" % id1)
    assert [eval(x) for x in res] == [{"foo2": "bar2", "foo3": "bar3"}] and errs == []


def test_keys_reader_key_types(g):
    g.set("s", "1")
    g.rpush("l", "1")
    g.hset("h", "f", "v")
    g.sadd("st", "1")
    g.zadd("z", {"m": 1})
    assert run(g, "GB().map(lambda x: x['type']).sort().run()") == [["hash", "list", "set", "string", "zset"], []]


def test_keys_reader_no_scan_of_missing_key(g):
    assert run(g, "GB().map(lambda x: x['type']).distinct().run('test', noScan=True)") == [["empty"], []]


def test_keys_reader_without_values(g):
    g.set("x", "1")
    res, errs = run(g, "GB().run(readValue=False)")
    assert [eval(x) for x in res] == [{"key": "x", "event": None}] and errs == []


def test_keys_only_reader_options(g):
    g.mset({"x": "1", "y": "1", "z": "1"})
    assert run(g, "GB('KeysOnlyReader').sort().run()") == [["x", "y", "z"], []]
    assert run(g, "GB('KeysOnlyReader').run('x')") == [["x"], []]
    assert run(g, "GB('KeysOnlyReader').sort().run(count=1)") == [["x", "y", "z"], []]
    g.mset({"x1": "1", "x2": "1"})
    assert run(g, "GB('KeysOnlyReader').run('x', noScan=True)") == [["x"], []]
    assert run(g, "GB('KeysOnlyReader').run('nokey', noScan=True)") == [[], []]
    g.set("x{06S}", "1")
    res = run(g, "GB('KeysOnlyReader').count().run(patternGenerator=lambda: ('x{%s}' % hashtag(), True))")
    assert res == [["1"], []]


def test_multi_exec_refuses_pyexecute(g):
    with g.pipeline(transaction=True) as p:
        p.execute_command("RG.PYEXECUTE", "GB().run()")
        p.set("after", "1")
        res = p.execute(raise_on_error=False)
    assert isinstance(res[0], redis.ResponseError)
    assert str(res[0]) == "Can not run gears inside a multi exec, lua, or when blocking is not allowed"
    assert res[1] is True


def test_aggregate_with_shared_mutable_zero(g):
    g.mset({"x": "1", "y": "2", "z": "3"})
    script = ("def seq(a, r):\n"
              "    a['sum'] += r\n"
              "    a['mul'] *= r\n"
              "    return a\n"
              "def comb(a, r):\n"
              "    a['sum'] += r['sum']\n"
              "    a['mul'] *= r['mul']\n"
              "    return a\n"
              "zero = {'sum': 0, 'mul': 1}\n"
              "GB().map(lambda x: int(x['value'])).aggregate(zero, seq, comb)"
              ".flatmap(lambda x: list(x.items())).sort().run()")
    assert run(g, script) == [["('mul', 6)", "('sum', 6)"], []]


def test_aggregateby_with_shared_mutable_zero(g):
    g.mset({"x1": "1", "x2": "2", "x3": "3", "y1": "1", "y2": "2", "y3": "3"})
    script = ("def seq(k, a, r):\n"
              "    a['sum'] += r\n"
              "    a['mul'] *= r\n"
              "    return a\n"
              "def comb(k, a, r):\n"
              "    a['sum'] += r['sum']\n"
              "    a['mul'] *= r['mul']\n"
              "    return a\n"
              "GB().map(lambda x: (x['key'][0], int(x['value'])))"
              ".aggregateby(lambda x: x[0], {'sum': 0, 'mul': 1}, lambda k, a, r: seq(k, a, r[1]), comb)"
              ".map(lambda x: str(x)).sort().run()")
    assert run(g, script) == [["{'key': 'x', 'value': {'sum': 6, 'mul': 6}}",
                               "{'key': 'y', 'value': {'sum': 6, 'mul': 6}}"], []]


def test_recursive_pyexecute_from_a_step_is_refused(g):
    res, errs = run(g, "GB('ShardsIDReader').map(lambda x: execute('RG.PYEXECUTE', 'GearsBuilder().run()')).run()")
    assert res == [] and len(errs) == 1
    assert "blocking is not allowed" in errs[0]


def test_execution_mode_on_run(g):
    assert run(g, "GB('ShardsIDReader').count().run(mode='async_local')") == [["1"], []]
    assert run(g, "GB('ShardsIDReader').count().run(mode='async')") == [["1"], []]
    assert "unknown execution mode" in error_of(g, "RG.PYEXECUTE", "GB('ShardsIDReader').run(mode='sync')")
    assert "execution mode must be a string" in error_of(g, "RG.PYEXECUTE", "GB('ShardsIDReader').run(mode=1)")


# --------------------------------------------------------------------------------------------
# Every operation, with exact outputs
# --------------------------------------------------------------------------------------------


def test_map_none_result_is_a_record(g):
    assert run(g, "GB('ShardsIDReader').map(lambda x: None).run()") == [["None"], []]


def test_flatmap_emits_list_last_to_first(g):
    assert run(g, "GB('ShardsIDReader').flatmap(lambda x: [1, 2, 3]).run()") == [["3", "2", "1"], []]
    assert run(g, "GB('ShardsIDReader').flatmap(lambda x: []).run()") == [[], []]
    # Only a list is expanded; any other value is one record.
    assert run(g, "GB('ShardsIDReader').flatmap(lambda x: (1, 2)).run()") == [["(1, 2)"], []]
    assert run(g, "GB('ShardsIDReader').flatmap(lambda x: 'ab').run()") == [["ab"], []]


def test_filter_keeps_truthy(g):
    res = run(g, "def gen():\n    yield from [0, 1, '', 'a', None, [], [0]]\n"
                 "GB('PythonReader').filter(lambda x: x).run(gen)")
    assert res == [["1", "a", "[0]"], []]


def test_foreach_passes_the_same_object_on(g):
    g.set("x", "1")
    assert run(g, "GB().foreach(lambda x: x.pop('event', None)).run()") == [["{'key': 'x', 'type': 'string', 'value': '1'}"], []]
    assert run(g, "GB().foreach(lambda x: x.pop('event', None)).run(readValue=False)") == [["{'key': 'x'}"], []]
    # The callback's return value is ignored.
    assert run(g, "GB().map(lambda x: x['key']).foreach(lambda x: 'other').run()") == [["x"], []]


def test_accumulate_starts_with_none_and_emits_once(g):
    res = run(g, "def gen():\n    yield from [1, 2, 3]\n"
                 "GB('PythonReader').accumulate(lambda a, r: (a or []) + [r]).run(gen)")
    assert res == [["[1, 2, 3]"], []]
    assert run(g, "GB().accumulate(lambda a, r: 1).run('nothing*')") == [[], []]


def test_localgroupby_output_records(g):
    res = run(g, "def gen():\n    yield from ['a', 'b', 'a']\n"
                 "GB('PythonReader').localgroupby(lambda x: x, lambda k, a, r: (a or 0) + 1)"
                 ".map(lambda x: (list(x.keys()), x['key'], x['value'])).sort().run(gen)")
    assert res == [["(['key', 'value'], 'a', 2)", "(['key', 'value'], 'b', 1)"], []]


def test_group_keys_are_str_or_repr(g):
    res = run(g, "def gen():\n    yield from [1, 'x', None, b'y', ('a', 1)]\n"
                 "GB('PythonReader').groupby(lambda x: x, lambda k, a, r: type(k).__name__)"
                 ".map(lambda x: x['key'] + '=' + x['value']).sort().run(gen)")
    assert res == [["('a', 1)=str", "1=str", "None=str", "b'y'=str", "x=str"], []]


def test_batchgroupby_gets_all_records_per_key(g):
    res = run(g, "def gen():\n    yield from ['a1', 'b1', 'a2', 'c1', 'a3']\n"
                 "GB('PythonReader').batchgroupby(lambda x: x[0], lambda k, records: sorted(records)).run(gen)")
    # Keys come out in reverse order of first appearance.
    assert res == [["{'key': 'c', 'value': ['c1']}",
                    "{'key': 'b', 'value': ['b1']}",
                    "{'key': 'a', 'value': ['a1', 'a2', 'a3']}"], []]


def test_aggregate_and_count_with_no_input_emit_nothing(g):
    for op in ("count()", "avg()", "aggregate(0, lambda a, r: a + 1, lambda a, r: a + r)",
               "sort()", "distinct()", "countby()", "accumulate(lambda a, r: 1)"):
        assert run(g, "GB().%s.run()" % op) == [[], []], op


def test_count_and_countby(g):
    g.mset({"a:1": "x", "a:2": "y", "b:1": "x"})
    assert run(g, "GB().count().run()") == [["3"], []]
    res = run(g, "GB().countby(lambda x: x['value']).map(lambda x: (x['key'], x['value'])).sort().run()")
    assert res == [["('x', 2)", "('y', 1)"], []]
    # The default extractor is the record itself.
    res = run(g, "GB().map(lambda x: x['key'][0]).countby().map(lambda x: (x['key'], x['value'])).sort().run()")
    assert res == [["('a', 2)", "('b', 1)"], []]


def test_distinct(g):
    g.mset({"a": "1", "b": "1", "c": "2"})
    res, errs = run(g, "GB().map(lambda x: x['value']).distinct().run()")
    assert sorted(res) == ["1", "2"] and errs == []


def test_avg_default_extractor_and_float_result(g):
    g.mset({"a": "1", "b": "2"})
    assert run(g, "GB().map(lambda x: x['value']).avg().run()") == [["1.5"], []]
    assert run(g, "GB().avg(lambda x: int(x['value']) * 2).run()") == [["3.0"], []]


def test_limit_windows(g):
    gen = "def gen():\n    yield from range(10)\n"
    assert run(g, gen + "GB('PythonReader').limit(3).run(gen)") == [["0", "1", "2"], []]
    assert run(g, gen + "GB('PythonReader').limit(3, 8).run(gen)") == [["8", "9"], []]
    assert run(g, gen + "GB('PythonReader').limit(0).run(gen)") == [[], []]
    assert run(g, gen + "GB('PythonReader').limit(2, 20).run(gen)") == [[], []]
    # bool is an int.
    assert run(g, gen + "GB('PythonReader').limit(True).run(gen)") == [["0"], []]


def test_limit_stops_pulling_records(g):
    g.mset({"k%d" % i: "1" for i in range(50)})
    res = run(g, "GB().foreach(lambda x: execute('incr', 'pulled')).limit(2, 1).run('k*')")
    assert len(res[0]) == 2 and res[1] == []
    assert g.get("pulled") == "3"


def test_collect_and_repartition_are_pass_through(g):
    g.mset({"a": "1", "b": "2"})
    res = run(g, "GB().map(lambda x: x['key']).repartition(lambda x: x).collect().sort().run()")
    assert res == [["a", "b"], []]


def test_getexecution_steps_expand_like_redisgears(g):
    g.set("x", "1")
    script = ("GB().map(lambda x: x).flatmap(lambda x: [x]).filter(lambda x: True)"
              ".foreach(lambda x: x).accumulate(lambda a, r: r)"
              ".localgroupby(lambda x: 'k', lambda k, a, r: r)"
              ".groupby(lambda x: 'k', lambda k, a, r: r)"
              ".batchgroupby(lambda x: 'k', lambda k, l: l)"
              ".repartition(lambda x: 'k').collect().limit(5).run()")
    eid = pyexecute(g, script, "UNBLOCKING")
    g.execute_command("RG.GETRESULTSBLOCKING", eid)
    steps = g.execute_command("RG.GETEXECUTION", eid)[0][3][15]
    got = [(s[1], s[5]) for s in reversed(steps)]
    assert got == [
        ("map", "RedisGearsPy_ToPyRecordMapper"),
        ("map", "RedisGearsPy_PyCallbackMapper"),
        ("map", "RedisGearsPy_PyCallbackFlatMapper"),
        ("flatmap", "flatmap"),
        ("filter", "RedisGearsPy_PyCallbackFilter"),
        ("foreach", "RedisGearsPy_PyCallbackForEach"),
        ("accumulate", "RedisGearsPy_PyCallbackAccumulate"),
        ("extractkey", "RedisGearsPy_PyCallbackExtractor"),
        ("accumulatebykey", "RedisGearsPy_PyCallbackAccumulateByKey"),
        ("map", "RedisGearsPy_ToPyRecordMapper"),
        ("extractkey", "RedisGearsPy_PyCallbackExtractor"),
        ("repartition", "repartition"),
        ("accumulatebykey", "RedisGearsPy_PyCallbackAccumulateByKey"),
        ("map", "RedisGearsPy_ToPyRecordMapper"),
        ("extractkey", "RedisGearsPy_PyCallbackExtractor"),
        ("repartition", "repartition"),
        ("group", "group"),
        ("reduce", "RedisGearsPy_PyCallbackReducer"),
        ("map", "RedisGearsPy_ToPyRecordMapper"),
        ("extractkey", "RedisGearsPy_PyCallbackExtractor"),
        ("repartition", "repartition"),
        ("map", "GetValueMapper"),
        ("collect", "collect"),
        ("limit", "limit"),
        ("map", "RedisGearsPy_PyCallbackMapper"),
        ("collect", "collect"),
    ]
    for s in steps:
        assert s[0::2] == ["type", "duration", "name", "arg"]
        assert s[3] == 0
        if s[5].startswith("RedisGearsPy_PyCallback"):
            assert re.fullmatch(r"<function .*<lambda> at 0x[0-9a-f]+>", s[7]), s
        else:
            assert s[7] == "", s
    g.execute_command("RG.DROPEXECUTION", eid)


# --------------------------------------------------------------------------------------------
# Readers: record shapes
# --------------------------------------------------------------------------------------------


def test_keys_reader_record_per_type(g):
    g.set("s", "v")
    g.rpush("l", "a", "b")
    g.hset("person:1", mapping={"name": "Rick Sanchez", "age": "70"})
    g.sadd("st", "m")
    g.zadd("z", {"m": 1})
    g.xadd("strm", {"f": "v"})
    res, errs = run(g, "GB().run()")
    assert errs == []
    assert sorted(res) == sorted([
        "{'event': None, 'key': 's', 'type': 'string', 'value': 'v'}",
        "{'event': None, 'key': 'l', 'type': 'list', 'value': ['a', 'b']}",
        # Hash fields in RedisGears' C dict order, as its documentation prints this record.
        "{'event': None, 'key': 'person:1', 'type': 'hash', 'value': {'age': '70', 'name': 'Rick Sanchez'}}",
        "{'event': None, 'key': 'st', 'type': 'set', 'value': None}",
        "{'event': None, 'key': 'z', 'type': 'zset', 'value': None}",
        # RedisGears 1.2 reports streams as 'unknown'.
        "{'event': None, 'key': 'strm', 'type': 'unknown', 'value': None}",
    ])


def test_keys_reader_non_utf8_is_bytearray(server):
    b = client(server, decode_responses=False)
    b.flushall()
    b.set(b"k\xff", b"\xff\x00v")
    res = run(b, "GB().map(lambda x: (type(x['key']).__name__, x['key'], x['value'])).run()")
    assert res == [[b"('bytearray', bytearray(b'k\\xff'), bytearray(b'\\xff\\x00v'))"], []]


def test_keys_reader_glob_patterns(g):
    g.mset({"hello": "1", "hallo": "1", "hxllo": "1", "heeello": "1", "a*b": "1"})
    keys = lambda p: sorted(run(g, "GB().map(lambda x: x['key']).run(%r)" % p)[0])
    assert keys("h?llo") == ["hallo", "hello", "hxllo"]
    assert keys("h[ae]llo") == ["hallo", "hello"]
    assert keys("h[^e]llo") == ["hallo", "hxllo"]
    assert keys("h*llo") == ["hallo", "heeello", "hello", "hxllo"]
    assert keys("a\\*b") == ["a*b"]
    assert keys("H*") == []


def test_keys_reader_no_scan_reads_one_key_exactly(g):
    g.mset({"h*": "star", "hx": "1"})
    assert run(g, "GB().run('h*', noScan=True)") == [["{'event': None, 'key': 'h*', 'type': 'string', 'value': 'star'}"], []]
    assert run(g, "GB().run('nokey', noScan=True)") == [["{'event': None, 'key': 'nokey', 'type': 'empty', 'value': None}"], []]
    assert run(g, "GB().run('hx', noScan=True, readValue=False)") == [["{'event': None, 'key': 'hx'}"], []]


def test_keys_reader_argument_errors(g):
    assert "exactMatch value is not boolean" in error_of(g, "RG.PYEXECUTE", "GB().run(noScan=1)")
    assert "readValue value is not boolean" in error_of(g, "RG.PYEXECUTE", "GB().run(readValue=1)")
    assert "regex argument must be a string" in error_of(g, "RG.PYEXECUTE", "GB().run(1)")


def test_keys_only_reader_errors(g):
    g.set("x", "1")
    res, errs = run(g, "GearsBuilder('KeysOnlyReader').run(count='noNunber')")
    assert res == [] and "value is not an integer" in errs[0]
    res, errs = run(g, "GearsBuilder('KeysOnlyReader').run(patternGenerator='adwaw')")
    assert res == [] and "object is not callable" in errs[0]
    assert "unexpected keyword argument 'bogus'" in error_of(g, "RG.PYEXECUTE", "GB('KeysOnlyReader').run(bogus=1)")


def test_stream_reader_record_shape(g):
    g.xadd("s", {"foo": "bar", "foo1": "bar1"}, id="1-1")
    # Outer keys 'key', 'id', 'value'; the fields in RedisGears' C dict order.
    assert run(g, "GB('StreamReader').run('s')") == [["{'key': 's', 'id': '1-1', 'value': {'foo1': 'bar1', 'foo': 'bar'}}"], []]


def test_stream_reader_bad_id_missing_key_and_wrong_type(g):
    g.xadd("s", {"a": "1"})
    g.set("str", "x")
    assert run(g, "GearsBuilder('StreamReader').run('s', fromId='test')") == [[], ["ERR Invalid stream ID specified as stream command argument"]]
    assert "fromId argument must be a string" in error_of(g, "RG.PYEXECUTE", "GearsBuilder('StreamReader').run('s', fromId=1)")
    assert run(g, "GB('StreamReader').run('nostream')") == [[], []]
    assert run(g, "GB('StreamReader').run('str')") == [[], []]
    # The default argument '*' is a key name, not a pattern.
    assert run(g, "GB('StreamReader').run()") == [[], []]


def test_python_reader_generator(g):
    res = run(g, "def gen():\n    yield 1\n    yield 'two'\n    yield [3]\n"
                 "GB('PythonReader').map(lambda x: x).run(gen)")
    assert res == [["1", "two", "[3]"], []]
    # rg-spec 3.4.4: a callable that returns a non-generator value gives that one record
    # (RedisGears 1.2 would call it again forever).
    assert run(g, "GB('PythonReader').run(lambda: 5)") == [["5"], []]


def test_python_reader_generator_failure_ends_input(g):
    res, errs = run(g, "def gen():\n    yield 1\n    yield 2\n    raise Exception('gen fail')\n    yield 3\n"
                       "GB('PythonReader').run(gen)")
    assert res == ["1", "2"]
    assert len(errs) == 1 and errs[0].endswith("'Exception: gen fail\\n']")
    res, errs = run(g, "def gen():\n    raise Exception('start fail')\n"
                       "GB('PythonReader').run(gen)")
    assert res == [] and "Exception: start fail" in errs[0]


@pytest.mark.parametrize("script", [
    "GB('PythonReader').run('*')",
    "GB('PythonReader').run()",
    "GB('PythonReader', '*').run()",
    "GB('PythonReader', shardReaderCallback).run('*')",
])
def test_python_reader_wrong_argument(g, script):
    assert error_of(g, "RG.PYEXECUTE", script).endswith("gears.error: pyreader argument must be a function\\n']")


def test_shards_id_reader(g):
    assert run(g, "GB('ShardsIDReader').run()") == [["1"], []]
    assert run(g, "GB('ShardsIDReader').run('ignored')") == [["1"], []]
    assert run(g, "GB('ShardsIDReader').count().run()") == [["1"], []]
    assert g.execute_command("RG.INFOCLUSTER") == "no cluster mode"


def test_shard_id_reader_builds_but_cannot_run(g):
    assert pyexecute(g, "GB('ShardIDReader')") == "OK"
    assert "Given reader do not support run or not exists" in error_of(g, "RG.PYEXECUTE", "GB('ShardIDReader').run()")


def test_command_reader_does_not_run(g):
    assert "reader do not support run" in error_of(g, "RG.PYEXECUTE", 'GB("CommandReader").run()')


def test_triggeronkey_is_rg_trigger_with_a_key(fresh_server, fresh):
    # rg-spec 1.12: the same handler as RG.TRIGGER; argv[2] is a key (key spec 2 2 1).
    assert pyexecute(fresh, "GB('CommandReader').map(lambda r: execute('set', r[1], r[2]))"
                            ".register(trigger='tok', mode='sync')") == "OK"
    assert fresh.execute_command("RG.TRIGGERONKEY", "tok", "x", "1") == ["OK"]
    assert fresh.get("x") == "1"
    assert fresh.command_getkeys("RG.TRIGGERONKEY", "tok", "x", "1") == ["x"]
    assert raw(fresh_server, "RG.TRIGGERONKEY", "nosuch", "x") == b"-ERR subcommand not found\r\n"


# --------------------------------------------------------------------------------------------
# run(): conversions of results (rg-spec 2.7)
# --------------------------------------------------------------------------------------------


def test_convert_to_str_false_reply_types_on_the_wire(server):
    script = ("GB('ShardsIDReader').map(lambda x: [1, 1.5, '+OK', '-no allowed', '+', '-', '', b'raw', "
              "{'a': 1}, None, (1,), True, False, 2**70, [2.0, ['x']], 1e20, float('inf')]).run(convertToStr=False)")
    out = raw(server, "RG.PYEXECUTE", script)
    assert out == (b"*2\r\n*1\r\n*17\r\n"
                   b":1\r\n$8\r\n1.500000\r\n+OK\r\n-no allowed\r\n$1\r\n+\r\n$1\r\n-\r\n$0\r\n\r\n$3\r\nraw\r\n"
                   b"$9\r\nPY RECORD\r\n$9\r\nPY RECORD\r\n$9\r\nPY RECORD\r\n:1\r\n:0\r\n:-1\r\n"
                   b"*2\r\n$8\r\n2.000000\r\n*1\r\n$1\r\nx\r\n"
                   b"$28\r\n100000000000000000000.000000\r\n$3\r\ninf\r\n"
                   b"*0\r\n")


def test_convert_to_str_default_strings_keep_plus_minus_rule(server):
    # str(-1) is '-1': a string longer than one char starting with '-' is an error element.
    assert raw(server, "RG.PYEXECUTE", "GB('ShardsIDReader').map(lambda x: -1).run()") == b"*2\r\n*1\r\n-1\r\n*0\r\n"
    assert raw(server, "RG.PYEXECUTE", "GB('ShardsIDReader').run()") == b"*2\r\n*1\r\n$1\r\n1\r\n*0\r\n"


def test_run_collect_false_and_py_record(g):
    g.set("x", "1")
    assert run(g, "GB().run(convertToStr=False)") == [["PY RECORD"], []]
    assert run(g, "GB().map(lambda x: x['key']).run(collect=False)") == [["x"], []]
    assert run(g, "GB().map(lambda x: 7).run(convertToStr=False, collect=False)") == [[7], []]


def test_resp3_client_gets_the_same_shapes(server):
    c = redis.Redis(port=server, protocol=3, **client_opts(decode_responses=True))
    try:
        c.flushall()
        c.set("x", "1")
        assert c.execute_command("RG.PYEXECUTE", "GB().map(lambda x: x['value']).run()") == [["1"], []]
        res = c.execute_command("RG.PYEXECUTE", "GB('ShardsIDReader').map(lambda x: [1, '+OK']).run(convertToStr=False)")
        assert res == [[[1, "OK"]], []]
        assert c.execute_command("RG.CONFIGGET", "MaxExecutions") == [1000]
    finally:
        c.close()


# --------------------------------------------------------------------------------------------
# RG.PYEXECUTE replies and option parsing (rg-spec 1.1)
# --------------------------------------------------------------------------------------------


def test_pyexecute_replies(server, g):
    assert raw(server, "RG.PYEXECUTE", "x = 1") == b"+OK\r\n"
    assert raw(server, "RG.PYEXECUTE", "GB().run()") == b"*2\r\n*0\r\n*0\r\n"
    out = raw(server, "RG.PYEXECUTE", "GB().run()", "UNBLOCKING")
    m = re.fullmatch(rb"\$(\d+)\r\n(0{40}-\d+)\r\n", out)
    assert m and int(m.group(1)) == len(m.group(2)), out
    eid = m.group(2).decode()
    assert g.execute_command("RG.GETRESULTSBLOCKING", eid) == [[], []]
    g.execute_command("RG.DROPEXECUTION", eid)


def test_pyexecute_option_errors(g):
    e = lambda *args: error_of(g, "RG.PYEXECUTE", "GB().run()", *args)
    assert e("ID") == "ID is missing"
    assert e("DESCRIPTION") == "DESCRIPTION is missing"
    assert e("REPLACE_WITH") == "REPLACE_WITH is missing"
    assert e("UNKNOWN") == "Unknown arguments were given: UNKNOWN"
    assert e("UNKNOWN", "doo") == "Unknown arguments were given: UNKNOWN"
    assert e("exta", "unknown", "arguments") == "Unknown arguments were given: exta"
    assert e("ID", "test@a") == "ID must be compose of: ['A'-'Z' | 'a'-'z' | '0' - '9' | '-' | '_']"
    assert e("REPLACE_WITH", "foo") == "Can not replace with foo, session does not exists."
    assert error_of(g, "RG.PYEXECUTE") == "wrong number of arguments for 'RG.PYEXECUTE' command"


def test_pyexecute_options_are_case_insensitive_and_requirements_may_be_empty(g):
    g.set("x", "1")
    assert run(g, "GB().map(lambda x: x['key']).run()", "id", "Test_1-1", "description", "d") == [["x"], []]
    assert pyexecute(g, "x = 1", "ID", "zero_reqs", "REQUIREMENTS") == "OK"
    # An empty ID passes the character check.
    assert pyexecute(g, "x = 1", "ID", "") == "OK"


def test_run_only_session_is_not_kept(g):
    assert pyexecute(g, "x = 1", "ID", "reusable") == "OK"
    assert pyexecute(g, "x = 1", "ID", "reusable") == "OK"
    assert g.execute_command("RG.PYDUMPSESSIONS", "SESSIONS", "reusable") == ["Session reusable does not exists"]


def test_two_runs_in_one_script(g):
    msg = error_of(g, "RG.PYEXECUTE", "GB().run()\nGB().run()")
    assert "more then 1" in msg
    assert msg.endswith("gears.error: Can not run more then 1 executions in a single script\\n']")


def test_pyexecute_wire_errors_have_no_err_prefix(server):
    assert raw(server, "RG.PYEXECUTE", "GB().run()", "ID") == b"-ID is missing\r\n"
    assert raw(server, "RG.GETRESULTS", "nope") == b"-execution plan does not exist\r\n"
    assert raw(server, "RG.GETRESULTSBLOCKING") == b"-ERR wrong number of arguments for 'RG.GETRESULTSBLOCKING' command\r\n"
    assert raw(server, "rg.getresultsblocking") == b"-ERR wrong number of arguments for 'rg.getresultsblocking' command\r\n"


# --------------------------------------------------------------------------------------------
# Sessions (RG.PYDUMPSESSIONS, ID / UPGRADE / REPLACE_WITH)
# --------------------------------------------------------------------------------------------


def test_pydumpsessions_of_a_registering_session(fresh):
    assert pyexecute(fresh, "GB('CommandReader').register(trigger='t')", "ID", "test", "DESCRIPTION", "desc") == "OK"
    entry = ["ID", "test", "sessionDescription", "desc", "refCount", 1, "linked", "primary",
             "dead", "false", "requirementInstallationNeeded", 0, "requirements", [],
             "registrations", [SHARD + "-1"]]
    assert fresh.execute_command("RG.PYDUMPSESSIONS") == [entry]
    assert fresh.execute_command("RG.PYDUMPSESSIONS", "SESSIONS", "test", "test3") == [entry, "Session test3 does not exists"]
    assert fresh.execute_command("RG.PYDUMPSESSIONS", "SESSIONS") == []
    assert fresh.execute_command("RG.PYDUMPSESSIONS", "DEAD") == []
    assert error_of(fresh, "RG.PYDUMPSESSIONS", "foo") == "Unknown option foo"
    assert error_of(fresh, "RG.PYDUMPSESSIONS", "TS") == "Unknown option TS"


def test_pydumpsessions_without_description_and_with_generated_id(fresh):
    assert pyexecute(fresh, "GB().register()") == "OK"
    (entry,) = fresh.execute_command("RG.PYDUMPSESSIONS")
    assert re.fullmatch(r"[0-9a-f]{40}", entry[1])
    assert entry[2:4] == ["sessionDescription", None]
    assert entry[-1] == [SHARD + "-1"]


def test_pydumpsessions_verbose_shows_registration_dumps(fresh):
    pyexecute(fresh, "GB('CommandReader').register(trigger='t')", "ID", "test", "DESCRIPTION", "desc")
    res = fresh.execute_command("RG.PYDUMPSESSIONS", "VERBOSE")
    assert res[0][-1][0][1] == SHARD + "-1"


def test_session_id_conflicts_upgrade_and_replace_with(g):
    reg = "GB('CommandReader').register(trigger='conflict_t')"
    assert pyexecute(g, reg, "ID", "conflict_a") == "OK"
    assert error_of(g, "RG.PYEXECUTE", reg, "ID", "conflict_a") == "Session conflict_a already exists"
    assert pyexecute(g, reg, "ID", "conflict_a", "UPGRADE") == "OK"
    # UPGRADE of a session that does not exist is a plain ID.
    assert pyexecute(g, "GB('CommandReader').register(trigger='conflict_n')", "ID", "conflict_new", "UPGRADE") == "OK"
    assert error_of(g, "RG.PYEXECUTE", reg, "ID", "conflict_a", "REPLACE_WITH", "conflict_new") == \
        "Can not replace an existing session conflict_a with conflict_new"
    assert pyexecute(g, reg, "ID", "conflict_b", "REPLACE_WITH", "conflict_a") == "OK"
    names = g.execute_command("RG.PYDUMPSESSIONS", "SESSIONS", "conflict_a", "conflict_b")
    assert names[0] == "Session conflict_a does not exists"
    assert names[1][:2] == ["ID", "conflict_b"]


def test_register_with_run_takes_the_registration_branch(fresh):
    assert pyexecute(fresh, "GB().register()\nGB('ShardsIDReader').run()") == "OK"
    assert pyexecute(fresh, "GB().register()", "UNBLOCKING") == "OK"
    assert "regex argument must be a string" in error_of(fresh, "RG.PYEXECUTE", "GB().register(1)")


# --------------------------------------------------------------------------------------------
# Executions: UNBLOCKING, GETRESULTS*, GETEXECUTION, DROP, ABORT, DUMPEXECUTIONS
# --------------------------------------------------------------------------------------------


def test_getexecution_shape(xyz):
    eid = pyexecute(xyz, "GB().map(lambda x: x['value']).run()", "UNBLOCKING")
    assert xyz.execute_command("RG.GETRESULTSBLOCKING", eid)[1] == []
    res = xyz.execute_command("RG.GETEXECUTION", eid)
    assert len(res) == 1
    shard = res[0]
    assert shard[:3] == ["shard_id", SHARD, "execution_plan"]
    plan = shard[3]
    assert plan[0::2] == ["status", "shards_received", "shards_completed", "results", "errors",
                          "total_duration", "read_duration", "steps"]
    assert plan[1] == "done" and plan[3] == 0 and plan[5] == 0
    assert plan[7] == 3 and plan[9] == []
    assert isinstance(plan[11], int) and isinstance(plan[13], int)
    steps = plan[15]
    assert [(s[1], s[5]) for s in steps] == [
        ("collect", "collect"),
        ("map", "RedisGearsPy_PyCallbackMapper"),
        ("map", "RedisGearsPy_PyCallbackMapper"),
        ("map", "RedisGearsPy_ToPyRecordMapper"),
    ]
    assert re.fullmatch(r"<function GearsBuilder\.run\.<locals>\.<lambda> at 0x[0-9a-f]+>", steps[1][7])
    assert re.fullmatch(r"<function <lambda> at 0x[0-9a-f]+>", steps[2][7])
    assert steps[0][7] == "" and steps[3][7] == ""
    # SHARD in any case; an id with trailing garbage finds the execution (sscanf).
    assert xyz.execute_command("RG.GETEXECUTION", eid, "sHARD") == res
    assert xyz.execute_command("RG.GETEXECUTION", eid + "abc") == res
    assert error_of(xyz, "RG.GETEXECUTION", eid, "CLUSTER") == "no cluster detected - use `RG.GETEXECUTION <id> [SHARD]` instead"
    assert error_of(xyz, "RG.GETEXECUTION", eid, "foo") == "unknown subcommand"
    assert error_of(xyz, "RG.GETEXECUTION", "NoSuchExecutionId") == "execution plan does not exist"
    assert error_of(xyz, "RG.GETEXECUTION") == "wrong number of arguments for 'RG.GETEXECUTION' command"
    assert error_of(xyz, "RG.GETEXECUTION", eid, "SHARD", "x") == "wrong number of arguments for 'RG.GETEXECUTION' command"
    assert xyz.execute_command("RG.DROPEXECUTION", eid) == "OK"


def test_step_durations_zero_without_profiling(g):
    assert g.execute_command("RG.CONFIGGET", "ProfileExecutions") == [0]
    eid = pyexecute(g, "import time\nGB('ShardsIDReader').map(lambda x: time.sleep(0.05) or x).run()", "UNBLOCKING")
    g.execute_command("RG.GETRESULTSBLOCKING", eid)
    plan = g.execute_command("RG.GETEXECUTION", eid)[0][3]
    assert sum(s[3] for s in plan[15]) == 0
    assert plan[11] >= 40
    g.execute_command("RG.DROPEXECUTION", eid)


def test_step_durations_with_profiling(g):
    g.execute_command("RG.CONFIGSET", "ProfileExecutions", "1")
    eid = pyexecute(g, "import time\nGB('ShardsIDReader').map(lambda x: time.sleep(0.05) or x).run()", "UNBLOCKING")
    g.execute_command("RG.GETRESULTSBLOCKING", eid)
    steps = g.execute_command("RG.GETEXECUTION", eid)[0][3][15]
    user_map = steps[2]
    assert user_map[5] == "RedisGearsPy_PyCallbackMapper" and user_map[3] >= 40
    g.execute_command("RG.DROPEXECUTION", eid)


def test_dumpexecutions_entry_shape(g):
    eid = pyexecute(g, "GB('ShardsIDReader').run()", "UNBLOCKING")
    g.execute_command("RG.GETRESULTSBLOCKING", eid)
    mine = [e for e in g.execute_command("RG.DUMPEXECUTIONS") if e[1] == eid]
    assert mine == [["executionId", eid, "status", "done", "registered", 0]]
    g.execute_command("RG.DROPEXECUTION", eid)
    assert [e for e in g.execute_command("RG.DUMPEXECUTIONS") if e[1] == eid] == []
    # A blocking run is dropped once it replied.
    before = {e[1] for e in g.execute_command("RG.DUMPEXECUTIONS")}
    run(g, "GB('ShardsIDReader').run()")
    assert {e[1] for e in g.execute_command("RG.DUMPEXECUTIONS")} == before


def test_results_commands_on_finished_and_unknown_executions(g):
    eid = pyexecute(g, "GB('ShardsIDReader').run()", "UNBLOCKING")
    assert g.execute_command("RG.GETRESULTSBLOCKING", eid) == [["1"], []]
    assert g.execute_command("RG.GETRESULTS", eid) == [["1"], []]
    # GETRESULTS ignores extra arguments.
    assert g.execute_command("RG.GETRESULTS", eid, "extra") == [["1"], []]
    # Aborting a finished execution changes nothing.
    assert g.execute_command("RG.ABORTEXECUTION", eid) == "OK"
    assert g.execute_command("RG.GETEXECUTION", eid)[0][3][1] == "done"
    assert g.execute_command("RG.DROPEXECUTION", eid) == "OK"
    for cmd in ("RG.GETRESULTS", "RG.GETRESULTSBLOCKING", "RG.DROPEXECUTION", "RG.GETEXECUTION"):
        assert error_of(g, cmd, eid) == "execution plan does not exist", cmd
    assert error_of(g, "RG.ABORTEXECUTION", eid) == "execution does not exist"
    for cmd in ("RG.GETRESULTS", "RG.GETRESULTSBLOCKING", "RG.DROPEXECUTION", "RG.ABORTEXECUTION"):
        assert error_of(g, cmd) == "wrong number of arguments for '%s' command" % cmd
    for cmd in ("RG.GETRESULTSBLOCKING", "RG.DROPEXECUTION", "RG.ABORTEXECUTION"):
        assert error_of(g, cmd, eid, "x") == "wrong number of arguments for '%s' command" % cmd


def test_running_execution_cannot_be_read_or_dropped_until_aborted(g, server):
    eid = pyexecute(g, INFINITE, "UNBLOCKING")
    eventually(lambda: status(g, eid) == "running")
    plan = g.execute_command("RG.GETEXECUTION", eid)[0][3]
    assert plan[7] == -1 and plan[9] == []
    assert error_of(g, "RG.GETRESULTS", eid) == "execution is still running"
    assert error_of(g, "RG.DROPEXECUTION", eid) == "can not drop a not yet finished execution, abort it first."
    waiter = {}
    t = threading.Thread(target=lambda: waiter.setdefault("r", client(server).execute_command("RG.GETRESULTSBLOCKING", eid)))
    t.start()
    time.sleep(0.2)
    assert "r" not in waiter
    assert g.execute_command("RG.ABORTEXECUTION", eid) == "OK"
    t.join(10)
    res, errs = waiter["r"]
    assert res == [] and len(errs) == 1
    assert g.execute_command("RG.DROPEXECUTION", eid) == "OK"


def test_abort_running_execution_ends_aborted_with_one_error(g):
    # gears-host's ABORT semantics (README): an execution aborted while running ends with
    # status 'aborted' at once; RedisGears 1.2 reports 'done' with the forced stop as its error.
    eid = pyexecute(g, INFINITE, "UNBLOCKING")
    eventually(lambda: status(g, eid) == "running")
    assert g.execute_command("RG.ABORTEXECUTION", eid) == "OK"
    plan = g.execute_command("RG.GETEXECUTION", eid)[0][3]
    try:
        assert plan[1] == "aborted" and len(plan[9]) == 1
    finally:
        g.execute_command("RG.DROPEXECUTION", eid)


def test_pyexecute_answers_while_every_execution_thread_is_busy(g, server):
    threads = g.execute_command("RG.CONFIGGET", "ExecutionThreads")[0]
    ids = [pyexecute(g, INFINITE, "UNBLOCKING") for _ in range(threads)]
    try:
        for eid in ids:
            eventually(lambda: status(g, eid) == "running")
        quick = client(server, socket_timeout=2, retry=Retry(NoBackoff(), 0))
        try:
            assert quick.execute_command("RG.PYEXECUTE", "x = 1") == "OK"
            eid = quick.execute_command("RG.PYEXECUTE", "GB('ShardsIDReader').run()", "UNBLOCKING")
            assert status(g, eid) == "created"
        except redis.TimeoutError:
            pytest.fail("RG.PYEXECUTE did not answer while the execution threads were busy")
        finally:
            quick.close()
    finally:
        for eid in ids:
            g.execute_command("RG.ABORTEXECUTION", eid)
            finish(g, eid)


def test_abort_interrupts_sleeping_python(g):
    eid = pyexecute(g, "import time\ndef f(x):\n    while True:\n        time.sleep(0.01)\n"
                       "GB('ShardsIDReader').map(f).run()", "UNBLOCKING")
    eventually(lambda: status(g, eid) == "running")
    # RG.ABORTEXECUTION replies once the execution stopped.
    assert g.execute_command("RG.ABORTEXECUTION", eid) == "OK"
    assert status(g, eid) != "running"
    assert g.execute_command("RG.DROPEXECUTION", eid) == "OK"


# --------------------------------------------------------------------------------------------
# Configuration (rg-spec 1.13, 1.14, 5)
# --------------------------------------------------------------------------------------------


def test_configget_defaults_and_unknown_keys(g):
    keys = ["MaxExecutions", "MaxExecutionsPerRegistration", "ProfileExecutions", "ExecutionThreads",
            "ExecutionMaxIdleTime", "SendMsgRetries", "Plugin", "PythonAttemptTraceback",
            "PythonInstallReqMaxIdleTime", "CreateVenv", "DownloadDeps", "ForeceDownloadDepsOnEnterprise",
            "OverridePythonAllocators"]
    assert g.execute_command("RG.CONFIGGET", *keys) == [1000, 100, 0, 3, 5000, 3, [], 1, 30000, 0, 0, 0, 1]
    strs = g.execute_command("RG.CONFIGGET", "DependenciesUrl", "DependenciesSha256", "PythonInstallationDir")
    assert all(isinstance(s, str) for s in strs)
    assert g.execute_command("RG.CONFIGGET") == []
    res = g.execute_command("RG.CONFIGGET", "NoSuchConfig", "MaxExecutions", "maxexecutions")
    assert isinstance(res[0], redis.ResponseError) and str(res[0]) == "(error) Unsupported config parameter: NoSuchConfig"
    assert res[1] == 1000
    assert str(res[2]) == "(error) Unsupported config parameter: maxexecutions"


def test_configget_unknown_key_on_the_wire(server):
    assert raw(server, "RG.CONFIGGET", "foo") == b"*1\r\n-(error) Unsupported config parameter: foo\r\n"


def test_configset_replies(g):
    assert g.execute_command("RG.CONFIGSET", "MaxExecutions", "10", "foo_extra", "bar") == [
        "OK", "OK - value was saved in extra config dictionary"]
    assert g.execute_command("RG.CONFIGGET", "MaxExecutions", "foo_extra") == [10, "bar"]
    # Core keys are case-insensitive for CONFIGSET.
    assert g.execute_command("RG.CONFIGSET", "maxexecutions", "11") == ["OK"]
    assert g.execute_command("RG.CONFIGGET", "MaxExecutions") == [11]
    res = g.execute_command("RG.CONFIGSET", "ExecutionThreads", "5", "MaxExecutions", "abc",
                            "PythonAttemptTraceback", "0", "DependenciesSha256", "x",
                            "PythonInstallReqMaxIdleTime", "0", "PythonAttemptTraceback", "z",
                            "ProfileExecutions", "1", "lonely")
    assert [str(x) for x in res] == [
        "(error) Config value ExecutionThreads not modifiable at runtime",
        "(error) Failed setting config value MaxExecutions",
        "OK - value was saved in extra config dictionary",
        "(error) DependenciesSha256 is not configurable at runtime",
        "Failed setting config value for key 'PythonInstallReqMaxIdleTime' with value '0'",
        "Failed setting config value for key 'PythonAttemptTraceback' with value 'z'",
        "OK",
        "(error) Value was not given to lonely",
    ]
    assert [type(x) for x in res] == [redis.ResponseError, redis.ResponseError, str, redis.ResponseError,
                                      redis.ResponseError, redis.ResponseError, str, redis.ResponseError]
    assert g.execute_command("RG.CONFIGGET", "PythonAttemptTraceback", "ProfileExecutions") == [0, 1]
    assert str(g.execute_command("RG.CONFIGSET", "MaxExecutions")[0]) == "(error) Failed setting config value MaxExecutions"
    assert g.execute_command("RG.CONFIGSET") == []
    for key in ("CreateVenv", "DownloadDeps", "OverridePythonAllocators", "PythonInstallationDir",
                "DependenciesUrl", "ForeceDownloadDepsOnEnterprise"):
        assert str(g.execute_command("RG.CONFIGSET", key, "1")[0]) == "(error) %s is not configurable at runtime" % key
    # Restoring the defaults is accepted at run time (RedisGears' restoreDefaultConfig).
    assert g.execute_command("RG.CONFIGSET", *DEFAULT_CONFIG) == [
        "OK", "OK", "OK", "OK - value was saved in extra config dictionary", "OK",
        "OK - value was saved in extra config dictionary", "OK"]


def test_gears_keys_given_at_start(tmp_path):
    # rg-spec 5.1: keys given at load time (`--gears KEY VALUE` here) lift the run-time
    # restriction; unknown keys go to the extra dictionary; a bad value stops the start.
    proc, port = start_server(args=["--gears", "ExecutionThreads", "1", "--gears", "CreateVenv", "1",
                                    "--gears", "TestConfig", "TestVal"])
    try:
        c = client(port)
        assert c.execute_command("RG.CONFIGGET", "ExecutionThreads", "CreateVenv") == [1, 1]
        assert run(c, "GB('ShardsIDReader').map(lambda x: gearsConfigGet('TestConfig')).run()") == [["TestVal"], []]
        # One execution thread: while it spins, the next execution waits as 'created'.
        spinning = pyexecute(c, INFINITE, "UNBLOCKING")
        eventually(lambda: status(c, spinning) == "running")
        queued = pyexecute(c, "GB('ShardsIDReader').run()", "UNBLOCKING")
        time.sleep(0.2)
        assert status(c, queued) == "created"
        c.execute_command("RG.ABORTEXECUTION", spinning)
        assert c.execute_command("RG.GETRESULTSBLOCKING", queued) == [["1"], []]
        c.close()
    finally:
        stop_server(proc)
    bad = subprocess.run([os.environ["GEARS_HOST_BIN"], "--port", "0", "--gears", "ExecutionThreads", "0"],
                         capture_output=True, timeout=20, cwd=tmp_path)
    assert bad.returncode != 0
    assert b"Failed setting config value ExecutionThreads" in bad.stderr


def test_configset_status_strings_on_the_wire(server):
    out = raw(server, "RG.CONFIGSET", "MaxExecutions", "1000", "wire_extra", "v")
    assert out == b"*2\r\n+OK\r\n+OK - value was saved in extra config dictionary\r\n"


# --------------------------------------------------------------------------------------------
# Errors and traceback policy (test_errors.py, rg-spec 6.3)
# --------------------------------------------------------------------------------------------


@pytest.mark.xfail(reason="CPython 3.11 calls '1defs' an 'invalid decimal literal'; RedisGears 1.2 "
                          "embeds CPython 3.7, which says 'invalid syntax'", strict=True)
def test_invalid_syntax_verbatim_from_redisgears(g):
    assert "invalid syntax" in error_of(g, "RG.PYEXECUTE", "1defs + GearsBuilder().notexists()")


def test_syntax_error(g):
    assert error_of(g, "RG.PYEXECUTE", "1 +\nGearsBuilder().notexists()") == \
        "Error type: <class 'SyntaxError'>, Value: invalid syntax (<string>, line 1)"


def test_script_error_names_the_missing_attribute(g):
    msg = error_of(g, "RG.PYEXECUTE", "GearsBuilder().notexists()")
    assert "notexists" in msg and msg.startswith("['Traceback (most recent call last):\\n'")


def test_unknown_reader(g):
    msg = error_of(g, "RG.PYEXECUTE", 'GB("unexists").accumulate(lambda a, x: 1 + (a if a else 0)).run()')
    assert msg.endswith("gears.error: The given reader does not exists\\n']")
    assert "reader argument must be a string" in error_of(g, "RG.PYEXECUTE", "GB(1).run()")
    assert "desc argument must be a string" in error_of(g, "RG.PYEXECUTE", "GB('KeysReader', desc=1)")


@pytest.mark.parametrize("step", [
    "foreach(lambda x: notexists(x))",
    "groupby(lambda x: 'key', lambda k, a, x: notexists(x))",
    "batchgroupby(lambda x: 'key', lambda k, x: notexists(x))",
    "groupby(lambda x: notexists(x), lambda k, a, x: 1)",
    "accumulate(lambda a, x: notexists(x))",
    "accumulate(lambda a, x: notexists(x) if a else 1)",
    "aggregateby(lambda x: 'key', 0, lambda k, a, x: notexists(x), lambda k, a, x: a + x)",
    "map(lambda x: notexists(x))",
    "flatmap(lambda x: notexists(x))",
    "filter(lambda x: notexists(x))",
    "repartition(lambda x: notexists(x))",
])
def test_step_errors_are_reported_not_raised(g, step):
    g.mset({"x": "1", "y": "1"})
    res, errs = run(g, "GB().%s.run()" % step)
    assert len(errs) >= 1
    assert all("name 'notexists' is not defined" in e for e in errs)


def test_error_stops_the_reader(g):
    g.mset({"k%d" % i: "1" for i in range(20)})
    res, errs = run(g, "GB().map(lambda x: notexists(x)).run()")
    assert res == [] and len(errs) == 1
    # Records already inside a group step still come out.
    res, errs = run(g, "def gen():\n    yield from ['a', 'b', 'boom', 'c']\n"
                       "GB('PythonReader').map(lambda x: notexists(x) if x == 'boom' else x)"
                       ".localgroupby(lambda x: x, lambda k, a, r: 1).map(lambda x: x['key']).run(gen)")
    assert sorted(res) == ["a", "b"] and len(errs) == 1


def test_traceback_policy(g):
    g.set("x", "1")
    res, errs = run(g, "GB().map(lambda x: notexists(x)).run()")
    assert errs == [TRACEBACK_NOTEXISTS]
    g.execute_command("RG.CONFIGSET", "PythonAttemptTraceback", "0")
    res, errs = run(g, "GB().map(lambda x: notexists(x)).run()")
    assert errs == ["Error type: <class 'NameError'>, Value: name 'notexists' is not defined"]
    assert error_of(g, "RG.PYEXECUTE", "GB().run()\nGB().run()") == \
        "Error type: <class 'gears.error'>, Value: Can not run more then 1 executions in a single script"


@pytest.mark.parametrize("traceback", ["1", "0"])
def test_getexecution_error_reporting(g, traceback):
    g.execute_command("RG.CONFIGSET", "PythonAttemptTraceback", traceback)
    g.set("x", "1")
    eid = pyexecute(g, "GB().repartition(lambda x: notexists(x)).repartition(lambda x: x).run()", "UNBLOCKING")
    g.execute_command("RG.GETRESULTSBLOCKING", eid)
    errs = g.execute_command("RG.GETEXECUTION", eid)[0][3][9]
    assert len(errs) == 1 and "name 'notexists' is not defined" in errs[0]
    g.execute_command("RG.DROPEXECUTION", eid)


def test_flat_error_is_bare(g):
    assert error_of(g, "RG.PYEXECUTE", "flat_error('bare message')") == "bare message"
    assert run(g, "GB('ShardsIDReader').map(lambda x: flat_error('in step')).run()") == [[], ["in step"]]
    assert run(g, "GB('ShardsIDReader').map(lambda x: redisgears.flatError('module')).run()") == [[], ["module"]]
    assert "not enough arguments for time flat error" in error_of(g, "RG.PYEXECUTE", "flat_error()")


def test_flat_error_alias_flatError(g):
    # gears-host also exposes flatError (the docs' spelling); RedisGears 1.2 only has flat_error.
    assert error_of(g, "RG.PYEXECUTE", "flatError('x')") == "x"


@pytest.mark.parametrize("script, message", [
    ("GB().map(1, 2)", "wrong number of args to map function"),
    ("GB().filter(1, 2)", "wrong number of args to filter function"),
    ("GB().foreach(1, 2)", "wrong number of args to foreach function"),
    ("GB().repartition(1, 2)", "wrong number of args to repartition function"),
    ("GB().accumulate(1, 2)", "wrong number of args to accumulate function"),
    ("GB().flatmap(1, 2)", "wrong number of args to flatmap function"),
    ("GB().map(1)", "map argument must be a function"),
    ("GB().map(str)", "map argument must be a function"),
    ("GB().filter(1)", "filter argument must be a function"),
    ("GB().foreach(1)", "foreach argument must be a function"),
    ("GB().repartition(1)", "repartition argument must be a function"),
    ("GB().accumulate(1)", "accumulate argument must be a function"),
    ("GB().flatmap(1)", "flatmap argument must be a function"),
    ("GB().groupby(1, 2, 3)", "wrong number of args to groupby function"),
    ("GB().localgroupby(1, 2, 3)", "wrong number of args to groupby function"),
    ("GB().batchgroupby(1, 2, 3)", "wrong number of args to batchgroupby function"),
    ("GB().groupby(1, 2)", "groupby extractor argument must be a function"),
    ("GB().groupby(lambda x: x, 2)", "groupby reducer argument must be a function"),
    ("GB().batchgroupby(1, 2)", "batchgroupby extractor argument must be a function"),
    ("GB().collect(1, 2, 3)", "wrong number of args to collect function"),
    ("GB().limit()", "wrong number of args to limit function"),
    ("GB().limit(1, 2, 3)", "wrong number of args to limit function"),
    ("GB().limit('awdwada')", "limit argument must be a number"),
    ("GB().limit(1, 'kakaka')", "limit argument must be a number"),
    ("GB().avg(1)", "map argument must be a function"),
    ("execute(1)", "the given command must be a string"),
    ("registerTE(2, 2)", "callback must be a function"),
    ("registerTE('2', lambda x: str(x))", "time argument must be a long"),
    ("gearsFuture()", "Future object can only be created inside certain execution steps"),
    ("call_next('x')", "Can not get CommandHook ctx"),
    ("get_command()", "Can not get command ctx"),
    ("override_reply(1)", "Can not get command ctx"),
])
def test_builder_and_runtime_argument_errors(g, script, message):
    msg = error_of(g, "RG.PYEXECUTE", script)
    assert msg.endswith("gears.error: %s\\n']" % message), msg


@pytest.mark.parametrize("script, message", [
    ("GB().register(1)", "regex argument must be a string"),
    ("GB().register(prefix=1)", "regex argument must be a string"),
    ("GB().register(regex='*', eventTypes=1)", "given eventTypes is not iterable"),
    ("GB().register(regex='*', keyTypes=1)", "given keyTypes is not iterable"),
    ("GB().register(regex='*', eventTypes=[1, 2, 3])", "given event type is not string"),
    ("GB().register(regex='*', keyTypes=[1, 2, 3])", "given key type is not string"),
    ("GB().register(regex='*', commands=1)", "given commands is not iterable"),
    ("GB().register(regex='*', commands=[1, 2, 3])", "given command type is not string"),
    ("GB().register(onRegistered=1)", "OnRegistered argument must be a function"),
    ("GB().register(mode=1)", "execution mode must be a string"),
    ("GB().register(mode='test')", "unknown execution mode"),
    ("GB().register(readValue=1)", "readValue is not boolean"),
    ("GB('StreamReader').register(batch='test')", "batch argument must be a number"),
    ("GB('StreamReader').register(duration='test')", "duration argument must be a number"),
    ("GB('StreamReader').register(onFailedPolicy='test')", "onFailedPolicy must be Continue/Abort/Retry"),
    ("GB('StreamReader').register(onFailedPolicy=1)", "onFailedPolicy must be a string (Continue/Abort/Retry)"),
    ("GB('StreamReader').register(onFailedRetryInterval='test')", "retryInterval argument must be a number"),
    ("GB('StreamReader').register(trimStream='test')", "pyTrimmStream argument must be a boolean"),
    ("GB('CommandReader').register('test')", "no trigger or hook argument was given"),
    ("GB('CommandReader').register(trigger=1)", "trigger argument is not string"),
    ("GB('KeysOnlyReader').register()", "given reader does not exists or does not support register"),
    ("GB('ShardsIDReader').register()", "given reader does not exists or does not support register"),
])
def test_register_argument_errors(g, script, message):
    # Registrations are part 2; their argument checks already run when register() is called.
    msg = error_of(g, "RG.PYEXECUTE", script)
    assert msg.endswith("gears.error: %s\\n']" % message), msg


def test_core_operations_are_positional_only(g):
    assert "unexpected keyword argument 'length'" in error_of(g, "RG.PYEXECUTE", "GB().limit(length=1)")


def test_batchgroupby_reducer_is_checked_only_when_called(g):
    g.set("x", "1")
    res, errs = run(g, "GB().batchgroupby(lambda x: x['key'], 2).run()")
    assert res == [] and len(errs) == 1 and "'int' object is not callable" in errs[0]


# --------------------------------------------------------------------------------------------
# Runtime functions (rg-spec 6.2, 6.4-6.6)
# --------------------------------------------------------------------------------------------


def test_execute_reply_conversions(g):
    g.set("s", "v")
    g.rpush("l", "a")
    script = ("GB('ShardsIDReader').map(lambda x: [execute('ping'), execute('set', 'n', 5), execute('incr', 'n'), "
              "execute('get', 'missing'), execute('mget', 's', 'missing'), execute('lrange', 'l', 0, -1), "
              "execute(), execute('get', 'n')]).map(lambda x: repr(x)).run()")
    assert run(g, script) == [["['PONG', 'OK', 6, None, ['v', None], ['a'], [], '6']"], []]


def test_execute_error_reply_raises_gears_error(g):
    g.set("s", "text")
    script = ("def f(x):\n"
              "    try:\n"
              "        execute('incr', 's')\n"
              "    except Exception as e:\n"
              "        return type(e).__module__ + '.' + type(e).__name__ + ': ' + str(e)\n"
              "GB('ShardsIDReader').map(f).run()")
    assert run(g, script) == [["gears.error: ERR value is not an integer or out of range"], []]


def test_execute_blocking_commands_run_non_blocking(g):
    # As in RedisGears (a Redis module's fake client cannot block): BLPOP pops or gives None at
    # once; commands a script may not run are refused.
    g.rpush("l", "a")
    script = ("def f(x):\n"
              "    try:\n"
              "        execute('multi')\n"
              "    except Exception as e:\n"
              "        refused = str(e)\n"
              "    return (execute('blpop', 'l', '0'), execute('blpop', 'l', '0'), refused)\n"
              "GB('ShardsIDReader').map(f).run()")
    assert run(g, script) == [["(['l', 'a'], None, 'ERR This Redis command is not allowed from script')"], []]


def test_execute_binary_reply_is_bytearray(server):
    b = client(server, decode_responses=False)
    b.flushall()
    b.set(b"bin", b"\xff\x01")
    res = run(b, "GB('ShardsIDReader').map(lambda x: repr(execute('get', 'bin'))).run()")
    assert res == [[b"bytearray(b'\\xff\\x01')"], []]


def test_execute_writes_are_visible(g):
    assert run(g, "GB('ShardsIDReader').map(lambda x: execute('set', 'w', 'x')).run()") == [["OK"], []]
    assert g.get("w") == "x"


def test_execute_from_top_level_script(g):
    assert pyexecute(g, "execute('set', 'top', '1')") == "OK"
    assert g.get("top") == "1"


def test_hashtag_is_slot_zero(g):
    assert run(g, "GB('ShardsIDReader').map(lambda x: hashtag()).run()") == [["06S"], []]


def test_gears_ctx_is_the_low_level_builder(g):
    # GB() records its steps on a gearsCtx (a redisgears.PyFlatExecution); scripts may use it
    # directly: no str() conversion or collect is added.
    g.set("x", "1")
    script = ("ctx = gearsCtx('KeysReader')\n"
              "assert isinstance(ctx, PyFlatExecution)\n"
              "ctx.map(lambda r: [r['key'], int(r['value'])])\n"
              "ctx.run('x')")
    assert run(g, script) == [[["x", 1]], []]


def test_globals_and_module_names(g):
    script = ("import redisgears\n"
              "from redisgears import executeCommand, log as rlog, config_get, getMyHashTag, atomicCtx\n"
              "names = ['GearsBuilder', 'GB', 'execute', 'call_next', 'get_command', 'override_reply', 'atomic',\n"
              "         'hashtag', 'registerTE', 'gearsCtx', 'gearsFuture', 'log', 'setGearsSession',\n"
              "         'getGearsSession', 'registerGearsThread', 'isInAtomicBlock', 'configGet', 'gearsConfigGet',\n"
              "         'PyFlatExecution', 'isAsyncAllow', 'flat_error', 'createKeysOnlyReader',\n"
              "         'shardReaderCallback', 'Log', 'ConfigGet', 'GearsConfigGet', 'redisgears', 'rg', 'copy']\n"
              "missing = [n for n in names if n not in globals()]\n"
              "GB('ShardsIDReader').map(lambda x: (missing, __name__, redisgears.GearsError.__module__ + '.' + "
              "redisgears.GearsError.__name__)).run()")
    assert run(g, script) == [["([], 'not_main', 'gears.error')"], []]


def test_log_writes_to_the_server_log(tmp_path):
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as f:
        proc, port = start_server(loglevel="notice", stderr=f)
    try:
        c = client(port)
        assert pyexecute(c, "log('hello notice')") == "OK"
        assert pyexecute(c, "log('hello warning', level='warning')") == "OK"
        assert pyexecute(c, "log('hello debug', level='debug')") == "OK"
        assert pyexecute(c, "log('warning', 'old form')") == "OK"
        assert pyexecute(c, "Log('deprecated alias')") == "OK"
        assert run(c, "GB('ShardsIDReader').map(lambda x: log('from a step')).run()") == [["None"], []]
        c.close()
    finally:
        stop_server(proc)
    text = log_path.read_text()
    for line in ("GEARS: hello notice", "GEARS: hello warning", "GEARS: old form",
                 "GEARS: Specify log level as the first argument to log function is depricated, "
                 "use key argument 'level' instead",
                 "GEARS: Log is deprecated, use log instead", "GEARS: deprecated alias", "GEARS: from a step"):
        assert line in text, line
    assert "hello debug" not in text


@pytest.mark.parametrize("script, message", [
    ("log(1)", "Log message must be a string"),
    ("log()", "log function must get a log message as input"),
    ("log('a', 'b', 'c')", "log function must get a log message as input"),
    ("log('x', level=1)", "Log level must be a sting (debug/verbose/notice/warning)"),
    ("log('x', level='loud')", "Log level should be one of the following : debug,verbose,notice,warning"),
    ("configGet(1)", "get_config key must be a string"),
    ("configGet()", "get_config function must get a single key input"),
])
def test_log_and_config_get_errors(g, script, message):
    assert error_of(g, "RG.PYEXECUTE", script).endswith("gears.error: %s\\n']" % message)


def test_getgearssession_names_the_session(g):
    # RedisGears returns a redisgears.PyExecutionSession object; its str names the session here.
    script = "GB('ShardsIDReader').map(lambda x: (type(getGearsSession()).__name__, str(getGearsSession()))).run()"
    assert run(g, script, "ID", "named_s") == [["('PyExecutionSession', '<gears session named_s>')"], []]


# --------------------------------------------------------------------------------------------
# Other commands
# --------------------------------------------------------------------------------------------


def test_pystats_shape(g):
    res = g.execute_command("RG.PYSTATS")
    assert res[0::2] == ["TotalAllocated", "PeakAllocated", "CurrAllocated"]
    total, peak, curr = res[1::2]
    assert total >= peak >= curr > 0


def test_infocluster_refreshcluster_dumpplugins(server, g):
    assert raw(server, "RG.INFOCLUSTER") == b"$15\r\nno cluster mode\r\n"
    assert g.execute_command("RG.REFRESHCLUSTER") == "OK"
    assert g.execute_command("RG.DUMPPLUGINS") == [["GearsPythonPlugin", 10000]]


def test_redis_cli_runs_a_script_from_stdin(server, g):
    g.set("x", "1")
    out = subprocess.run(["redis-cli", "-p", str(server), "-x", "RG.PYEXECUTE"],
                         input=b"GB().map(lambda x: x['key']).run()\n", capture_output=True, check=True)
    assert out.stdout == b"x\n\n"
