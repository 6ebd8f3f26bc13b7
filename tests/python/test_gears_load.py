"""Many queued executions: 10k UNBLOCKING executions neither leak memory (RG.PYSTATS, RSS) nor
make PING wait behind them."""
import time

import pytest
import redis

from gears_util import client_opts

from conftest import start_server, stop_server

N = 10_000
# Each execution sleeps a little so the queue is still long when PING is sent.
CODE = "import time\nGB('ShardsIDReader').map(lambda x: (time.sleep(0.0005), x)[1]).run()"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def curr_allocated(r):
    stats = r.execute_command("RG.PYSTATS")
    return dict(zip(stats[::2], stats[1::2]))["CurrAllocated"]


def queue_and_drain(r):
    """Queues N UNBLOCKING executions in one pipeline; returns their ids and how many had
    finished when a PING sent right after them was answered."""
    pipe = r.pipeline(transaction=False)
    for _ in range(N):
        pipe.execute_command("RG.PYEXECUTE", CODE, "UNBLOCKING")
    ids = pipe.execute()
    assert len(ids) == N and all(isinstance(i, str) and i.count("-") == 1 for i in ids)
    assert r.ping() is True
    finished_at_ping = sum(1 for e in dump(r) if e["status"] == "done")
    deadline = time.time() + 120
    while any(e["status"] != "done" for e in dump(r)):
        assert time.time() < deadline, "executions did not finish"
        time.sleep(0.05)
    return ids, finished_at_ping


def dump(r):
    return [dict(zip(e[::2], e[1::2])) for e in r.execute_command("RG.DUMPEXECUTIONS")]


@pytest.fixture
def loaded_server():
    proc, port = start_server()
    yield proc, redis.Redis(port=port, **client_opts(decode_responses=True))
    stop_server(proc)


def test_ten_thousand_unblocking_executions_do_not_leak_or_block_ping(loaded_server):
    proc, r = loaded_server
    # Warm-up: one full round fills the MaxExecutions history (1000) and the allocator's pools.
    queue_and_drain(r)
    base_rss, base_py = rss_kib(proc.pid), curr_allocated(r)

    ids, finished_at_ping = queue_and_drain(r)
    # PING was answered while most of the queue still waited.
    assert finished_at_ping < N // 2, finished_at_ping
    # Only the newest MaxExecutions executions are kept.
    kept = dump(r)
    assert len(kept) == 1000
    assert {e["executionId"] for e in kept} == set(ids[-1000:])
    assert r.execute_command("RG.GETRESULTS", ids[-1]) == [["1"], []]
    with pytest.raises(redis.ResponseError, match="execution plan does not exist"):
        r.execute_command("RG.GETRESULTS", ids[0])

    # A second round costs no more memory than the first left behind.
    queue_and_drain(r)
    rss, py = rss_kib(proc.pid), curr_allocated(r)
    assert py <= base_py * 1.10 + 64 * 1024, (base_py, py)
    # Allocator noise is a few MiB; the leak this catches was ~45 MiB per round.
    assert rss <= base_rss * 1.10 + 8 * 1024, (base_rss, rss)
    assert r.ping() is True
