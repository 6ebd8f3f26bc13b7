"""examples/python/*.py run exactly as their headers say: `redis-cli -x RG.PYEXECUTE < file`.

redis-cli prints the [results, errors] reply flat when its output is not a terminal: one line
per result, then the errors (an empty errors array prints an empty line).
"""
import os
import subprocess

import pytest

from gears_util import client

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
    tested = {"word_count.py", "key_count_by_type.py", "hash_field_average.py", "numpy_map.py"}
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
