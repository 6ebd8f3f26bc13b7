"""Helpers shared by the RedisGears tests."""
import socket
import time

import redis
import redis.backoff
import redis.retry

SHARD = "0" * 40

# What RedisGears' own tests restore after each test (restoreDefaultConfig).
DEFAULT_CONFIG = [
    "MaxExecutions", "1000",
    "MaxExecutionsPerRegistration", "100",
    "ProfileExecutions", "0",
    "PythonAttemptTraceback", "1",
    "ExecutionMaxIdleTime", "5000",
    "PythonInstallReqMaxIdleTime", "30000",
    "SendMsgRetries", "3",
]


def client_opts(**kw):
    """redis-py options for test clients. redis-py 8 times a reply out after 5 s and then
    retries the command: an upload that compiles slowly on a loaded CI machine would be sent
    twice (two sessions). Replies may take 120 s, and nothing is retried."""
    kw.setdefault("socket_timeout", 120)
    kw.setdefault("retry", redis.retry.Retry(redis.backoff.NoBackoff(), 0))
    return kw


def client(port, **kw):
    """A RESP2 client, as RedisGears' tests use."""
    kw.setdefault("decode_responses", True)
    return redis.Redis(port=port, protocol=2, **client_opts(**kw))


def pyexecute(r, script, *args):
    return r.execute_command("RG.PYEXECUTE", script, *args)


def run(r, script, *args):
    """RG.PYEXECUTE of a script that calls run(): the [results, errors] pair."""
    res = pyexecute(r, script, *args)
    assert isinstance(res, list) and len(res) == 2, res
    return res


def error_of(r, *argv):
    """The error text of a command expected to fail."""
    try:
        reply = r.execute_command(*argv)
    except redis.ResponseError as e:
        return str(e)
    raise AssertionError("expected an error, got %r" % (reply,))


def raw(port, *argv, timeout=10.0):
    """Sends one command and returns its raw RESP2 reply bytes (one complete reply)."""
    out = b"*%d\r\n" % len(argv)
    for a in argv:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(out)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return buf
            buf += chunk
            if _complete(buf) is not None:
                return buf
    finally:
        s.close()


def _complete(buf, pos=0):
    """End offset of the RESP2 value starting at pos, or None if buf is incomplete."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    kind, line = buf[pos:pos + 1], buf[pos + 1:end]
    nxt = end + 2
    if kind in (b"+", b"-", b":"):
        return nxt
    if kind == b"$":
        n = int(line)
        if n < 0:
            return nxt
        return nxt + n + 2 if len(buf) >= nxt + n + 2 else None
    if kind == b"*":
        n = int(line)
        for _ in range(max(n, 0)):
            nxt = _complete(buf, nxt)
            if nxt is None:
                return None
        return nxt
    raise ValueError("unexpected RESP type %r" % kind)


def eventually(check, timeout=10.0, interval=0.02):
    """Retries check() until it returns a truthy value (returned) or raises past timeout."""
    deadline = time.time() + timeout
    while True:
        try:
            v = check()
            if v:
                return v
        except AssertionError:
            if time.time() > deadline:
                raise
        if time.time() > deadline:
            raise AssertionError("condition not reached in %.1fs" % timeout)
        time.sleep(interval)
