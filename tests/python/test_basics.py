"""redis-py against gears-host: the basics every client relies on."""
import pytest
import redis

from gears_util import client_opts


def test_ping_and_echo(r):
    assert r.ping() is True
    assert r.echo("hi") == "hi"


def test_set_get_with_ttl(r):
    assert r.set("k", "v", ex=100) is True
    assert r.get("k") == "v"
    assert 0 < r.ttl("k") <= 100
    assert r.set("k", "w", nx=True) is None
    assert r.get("k") == "v"


def test_counters(r):
    assert r.incr("n") == 1
    assert r.incrby("n", 41) == 42
    assert r.incrbyfloat("n", 0.5) == 42.5
    with pytest.raises(redis.ResponseError, match="not a valid float"):
        r.incrbyfloat("n", "abc")


def test_incr_on_text_is_an_error(r):
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.incr("s")
    assert r.get("s") == "x"


def test_resp3_hello_and_map_replies(r3):
    info = r3.execute_command("HELLO", 3)
    assert info["proto"] == 3
    assert info["server"] == "redis"
    r3.set("a", 1)
    assert r3.config_get("hash-max-listpack-*") == {
        "hash-max-listpack-entries": "128",
        "hash-max-listpack-value": "64",
    }


def test_pipeline_and_transaction(r):
    with r.pipeline(transaction=True) as p:
        p.set("a", 1).incr("a").get("a")
        assert p.execute() == [True, 2, "2"]


def test_watch_aborts_on_change(server, r):
    other = redis.Redis(port=server, **client_opts(decode_responses=True))
    with r.pipeline() as p:
        p.watch("w")
        other.set("w", "changed")
        p.multi()
        p.set("w", "mine")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("w") == "changed"


def test_pubsub_roundtrip(server, r):
    ps = r.pubsub()
    ps.subscribe("ch")
    assert ps.get_message(timeout=1)["type"] == "subscribe"
    assert r.publish("ch", "hello") == 1
    msg = ps.get_message(timeout=1)
    assert msg["type"] == "message" and msg["data"] == "hello"
    ps.close()


def test_scan_iter_sees_every_key(r):
    for i in range(500):
        r.set(f"key:{i}", i)
    seen = set(r.scan_iter(match="key:*", count=37))
    assert len(seen) == 500
