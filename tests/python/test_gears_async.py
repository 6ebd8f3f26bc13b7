"""redis-py against gears-host: RedisGears 1.2 async Python (pytest/test_async.py, test_profile.py)."""
import time

import pytest
import redis


def pyexecute(r, code, *args):
    return r.execute_command("RG.PYEXECUTE", code, *args)


def test_async_await_in_every_step(r):
    code = """
import asyncio

async def c(r):
    await asyncio.sleep(0.1)
    return r

GB('ShardsIDReader').map(c).flatmap(c).foreach(c).filter(c).count().run()
"""
    assert pyexecute(r, code) == [["1"], []]


def test_async_await_that_raises(r):
    code = """
import asyncio

async def c(r):
    await asyncio.sleep(0.1)
    raise Exception('failed')

GB('ShardsIDReader').map(c).run()
"""
    assert pyexecute(r, code) == [[], ["failed"]]


@pytest.mark.parametrize("tail", ["repartition(c).run()", "batchgroupby(lambda x: x, c2).run()"])
def test_async_await_on_unallowed_steps(r, tail):
    code = """
async def c(r):
    return r

async def c2(k, l):
    return l

GB('ShardsIDReader').map(c).""" + tail
    res = pyexecute(r, code)
    assert "coroutine are not allow on" in res[1][0]


def test_async_errors(r):
    with pytest.raises(redis.ResponseError, match="Future object can only be created inside certain execution steps"):
        pyexecute(r, "gearsFuture()")
    res = pyexecute(r, "GB('ShardsIDReader').repartition(lambda x: gearsFuture()).run()")
    assert "Step does not support async" in res[1][0]
    res = pyexecute(r, "GB('ShardsIDReader').batchgroupby(lambda x: x, lambda k, l: gearsFuture()).run()")
    assert "Step does not support async" in res[1][0]


def test_future_misuse(r):
    code = "def m(r):\n    return gearsFuture()\nGB('ShardsIDReader').map(m).run()"
    assert pyexecute(r, code) == [[], ["Async record did not called continue"]]
    code = "def m(r):\n    f = gearsFuture()\n    f.continueRun(r)\n    return f\nGB('ShardsIDReader').map(m).run()"
    assert "Can not handle future untill it returned from the callback" in pyexecute(r, code)[1][0]


def test_await_on_another_execution(r):
    for k in ("x", "y", "z"):
        r.set(k, "1")
    code = """
async def c(r):
    res = await GB().map(lambda x: x['key']).run()
    return res[0]

GB('ShardsIDReader').flatmap(c).sort().run()
"""
    assert pyexecute(r, code) == [["x", "y", "z"], []]


def test_await_inside_atomic(r):
    code = """
import asyncio

async def c(r):
    with atomic():
        await asyncio.sleep(0.1)
    return r

GB('ShardsIDReader').map(c).run()
"""
    res = pyexecute(r, code)
    assert "await is not allow inside atomic block" in res[1][0]


def test_time_event(r):
    code = """
def tick():
    # A raising callback stops its timer: stop after two ticks so the timer does not write
    # into the tests that share this server.
    if int(execute('incr', 'te_counter')) >= 2:
        raise Exception('enough')
registerTE(1, tick)
"""
    assert pyexecute(r, code) == "OK"
    deadline = time.time() + 10
    while int(r.get("te_counter") or 0) < 2:
        assert time.time() < deadline, "the timer did not fire twice"
        time.sleep(0.1)
    # The second tick raised, which stops the timer (proving an absence needs a wait).
    time.sleep(1.5)
    assert r.get("te_counter") == "2"


def test_profile(r):
    assert r.execute_command("RG.CONFIGSET", "ProfileExecutions", "1") == ["OK"]
    try:
        code = """
def map_func(x):
    return x
def filter_func(x):
    return True
GB().register('profile-never-matches:*')
GB('ShardsIDReader').map(map_func).filter(filter_func).run()
"""
        assert pyexecute(r, code, "ID", "profiled", "UPGRADE") == "OK"
        deadline = time.time() + 10
        while True:
            try:
                stats = r.execute_command("RG.PYPROFILE", "STATS", "profiled")
                if "filter_func" in stats:
                    break
            except redis.ResponseError:
                pass
            assert time.time() < deadline
            time.sleep(0.05)
        assert "map_func" in stats and "ncalls" in stats
        with pytest.raises(redis.ResponseError):
            r.execute_command("RG.PYPROFILE", "STATS", "0000000000000000000000000000000000000000-0")
        assert r.execute_command("RG.PYPROFILE", "RESET", "profiled") == "OK"
        with pytest.raises(redis.ResponseError):
            r.execute_command("RG.PYPROFILE", "STATS", "profiled")
    finally:
        r.execute_command("RG.CONFIGSET", "ProfileExecutions", "0")
