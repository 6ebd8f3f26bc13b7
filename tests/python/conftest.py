"""Fixtures: a gears-host binary (GEARS_HOST_BIN) on a free port, and redis-py clients."""
import os
import socket
import subprocess
import time

import pytest
import redis

from gears_util import client_opts


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(loglevel="warning", stderr=None, args=()):
    """Starts GEARS_HOST_BIN on a free port (with extra command-line `args`); returns
    (process, port) once it accepts."""
    binary = os.environ.get("GEARS_HOST_BIN")
    if not binary:
        pytest.fail("GEARS_HOST_BIN is not set; run scripts/test.sh")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--loglevel", loglevel, *args], stderr=stderr
    )
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            if time.time() > deadline:
                proc.kill()
                pytest.fail("gears-host did not start")
            time.sleep(0.05)


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server():
    proc, port = start_server()
    yield port
    stop_server(proc)


@pytest.fixture
def fresh_server():
    """A server of its own for one test (ids start at 0, no sessions, default config)."""
    proc, port = start_server()
    yield port
    stop_server(proc)


@pytest.fixture
def r(server):
    client = redis.Redis(port=server, **client_opts(decode_responses=True))
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def r3(server):
    client = redis.Redis(port=server, protocol=3, **client_opts(decode_responses=True))
    client.flushall()
    yield client
    client.close()
