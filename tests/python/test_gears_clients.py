"""The RedisGears client packages from PyPI against gears-host.

gearsclient (GearsRemoteBuilder) records a pipeline client-side, cloudpickles it and sends
RG.PYEXECUTE with a script that unpickles and replays it; results come back pickled. gears-cli's
`run <file.py> [extra args]` sends the file's content as RG.PYEXECUTE and prints the reply.
Both are installed by .ci/run. Callbacks are lambdas so cloudpickle ships them by value (named
module-level functions of this file would be pickled by reference, and the server cannot import
this test module).
"""
import re
import shutil
import subprocess
import sys

import pytest
import redis
from gearsclient import GearsRemoteBuilder, execute

from gears_util import DEFAULT_CONFIG, client, client_opts


@pytest.fixture
def rb(server):
    """A bytes client: gearsclient unpickles the raw result bulks."""
    c = redis.Redis(port=server, protocol=2, **client_opts())
    c.flushall()
    yield c
    c.execute_command("RG.CONFIGSET", *DEFAULT_CONFIG)
    c.close()


def GRB(r, reader="KeysReader"):
    # addClientToRequirements would add REQUIREMENTS gearsclient==1.0.1 (a pip install on a
    # server that installs requirements); the package is importable on the test machine.
    return GearsRemoteBuilder(reader, r=r, addClientToRequirements=False)


@pytest.fixture
def xyz(rb):
    rb.mset({"x": "1", "y": "2", "z": "3"})
    return rb


def test_map_sort(xyz):
    assert GRB(xyz).map(lambda x: x["value"]).sort().run() == (["1", "2", "3"], [])


def test_filter(xyz):
    assert GRB(xyz).map(lambda x: x["value"]).filter(lambda x: x == "1").run() == (["1"], [])


def test_foreach_runs_on_the_server(xyz):
    counter = {"n": 0}

    def increase(x):
        counter["n"] += 1

    # The closure's dict is a copy on the server: the count happens there.
    res, errs = GRB(xyz).foreach(increase).map(lambda x: counter["n"]).run()
    assert sorted(res) == [1, 2, 3] and errs == []
    assert counter["n"] == 0


def test_flatmap_with_keys_only_reader_and_execute(rb):
    rb.lpush("l", "1", "2", "3")
    res = GRB(rb, "KeysOnlyReader").map(lambda x: execute("lrange", x, "0", "-1")).flatmap(lambda x: x).run()
    assert res == (["1", "2", "3"], [])


def test_countby_avg_count_distinct(rb):
    rb.mset({"x": "1", "y": "1", "z": "2", "t": "2"})
    assert GRB(rb).map(lambda x: x["value"]).countby().map(lambda x: (x["key"], x["value"])).sort().run() == \
        ([("1", 2), ("2", 2)], [])
    assert GRB(rb).map(lambda x: x["value"]).avg().run() == ([1.5], [])
    assert GRB(rb).count().run() == ([4], [])
    res, errs = GRB(rb).map(lambda x: x["value"]).distinct().run()
    assert sorted(res) == ["1", "2"] and errs == []


def test_aggregate_aggregateby_localgroupby_accumulate(rb):
    rb.mset({"a1": "1", "a2": "2", "b1": "5"})
    assert GRB(rb).map(lambda x: int(x["value"])).aggregate(0, lambda a, r: a + r, lambda a, r: a + r).run() == ([8], [])
    res = GRB(rb).aggregateby(lambda x: x["key"][0], 0, lambda k, a, r: a + int(r["value"]),
                              lambda k, a, r: a + r).map(lambda x: (x["key"], x["value"])).sort().run()
    assert res == ([("a", 3), ("b", 5)], [])
    res = GRB(rb).localgroupby(lambda x: x["key"][0], lambda k, a, r: (a or 0) + 1) \
        .map(lambda x: (x["key"], x["value"])).sort().run()
    assert res == ([("a", 2), ("b", 1)], [])
    assert GRB(rb).map(lambda x: int(x["value"])).accumulate(lambda a, r: (a or 0) + r).run() == ([8], [])


def test_sort_reverse_limit_repartition(rb):
    rb.mset({str(i): str(i) for i in range(10)})
    res = GRB(rb).map(lambda x: int(x["value"])).sort(reverse=False).run()
    assert res == (list(reversed(range(10))), [])
    res = GRB(rb).map(lambda x: int(x["value"])).sort().limit(3, 2).run()
    assert res == ([2, 3, 4], [])
    res = GRB(rb).repartition(lambda x: x["key"]).map(lambda x: x["key"]).count().run()
    assert res == ([10], [])


def test_python_objects_round_trip(rb):
    res = GRB(rb, "ShardsIDReader").map(lambda x: {"shard": x, "t": (1, 2.5, None)}).run()
    assert res == ([{"shard": "1", "t": (1, 2.5, None)}], [])


def test_errors_come_back_in_the_second_list(xyz):
    res, errs = GRB(xyz).map(lambda x: 1 / 0).run()
    assert res == [] and len(errs) == 1
    assert b"ZeroDivisionError: division by zero" in errs[0]


def test_register_returns_ok(fresh_server):
    c = redis.Redis(port=fresh_server, protocol=2, **client_opts())
    try:
        assert GRB(c, "CommandReader").map(lambda x: x).register(trigger="gearsclient_t") == b"OK"
        sessions = client(fresh_server).execute_command("RG.PYDUMPSESSIONS")
        assert len(sessions) == 1 and len(sessions[0][-1]) == 1
    finally:
        c.close()


# --------------------------------------------------------------------------------------------
# gears-cli
# --------------------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def gears_cli(port, *args):
    exe = shutil.which("gears-cli")
    cmd = [exe] if exe else [sys.executable, "-m", "gears_cli"]
    out = subprocess.run(cmd + ["run", "--port", str(port), *args], capture_output=True, text=True, timeout=60)
    return out.returncode, ANSI.sub("", out.stdout)


def test_gears_cli_run_prints_results(server, tmp_path):
    c = client(server)
    c.flushall()
    c.mset({"x": "1", "y": "2"})
    f = tmp_path / "keys.py"
    f.write_text("GB().map(lambda x: x['key']).sort().run()\n")
    rc, out = gears_cli(server, str(f))
    assert rc == 0
    assert out.splitlines() == ["Results", "-------", "1)\tx", "2)\ty", ""]


def test_gears_cli_run_reports_errors_with_exit_code(server, tmp_path):
    c = client(server)
    c.flushall()
    c.set("x", "1")
    f = tmp_path / "fail.py"
    f.write_text("GB().map(lambda x: notexists(x)).run()\n")
    rc, out = gears_cli(server, str(f))
    assert rc == 1
    lines = out.splitlines()
    assert lines[:3] == ["Results", "-------", ""]
    assert lines[3:5] == ["Errors", "------"]
    assert "name 'notexists' is not defined" in lines[5]


def test_gears_cli_run_passes_extra_args_and_prints_ok(fresh_server, tmp_path):
    f = tmp_path / "reg.py"
    f.write_text("GB('CommandReader').register(trigger='cli_t')\n")
    rc, out = gears_cli(fresh_server, str(f), "ID", "example")
    assert (rc, out) == (0, "OK\n")
    rc, out = gears_cli(fresh_server, str(f), "ID", "example")
    assert rc == 1
    assert out == "failed running gear function (Session example already exists)\n"
    rc, out = gears_cli(fresh_server, str(f), "ID", "example", "UPGRADE")
    assert (rc, out) == (0, "OK\n")
