"""RG.PYEXECUTE REQUIREMENTS, RG.PYDUMPREQS, RG.PYEXPORTREQ / RG.PYIMPORTREQ with redis-py and
gears-cli (export-requirements / import-requirements / install-requirements).

These tests install `six` from PyPI: without network access to PyPI they fail, they do not skip.
Each test gets its own gears-host process with its own data directory (`dir`).
"""
import importlib.util
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
import redis

from gears_util import client_opts

SIX = "six==1.16.0"
SIX_WHEEL = "six-1.16.0-py2.py3-none-any.whl"
VERSION_SCRIPT = (
    "import six\n"
    "GB('ShardsIDReader').map(lambda x: six.__version__ + '|' + six.__file__).run()"
)
REQ_FIELDS = [
    "GearReqVersion", "Name", "IsDownloaded", "IsInstalled", "CompiledOs", "Wheels", "Path",
    "RefCount", "IsInReqDictionary",
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """A gears-host process whose `dir` is a fresh directory."""

    def __init__(self, data_dir):
        binary = os.environ.get("GEARS_HOST_BIN")
        if not binary:
            pytest.fail("GEARS_HOST_BIN is not set; run scripts/test.sh")
        self.dir = os.path.realpath(str(data_dir))
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "gears-host.conf")
        with open(conf, "w") as f:
            f.write("dir %s\n" % self.dir)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--loglevel", "warning", "--config", conf]
        )
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    self.proc.kill()
                    pytest.fail("gears-host did not start")
                time.sleep(0.05)
        self.r = redis.Redis(port=self.port, **client_opts(decode_responses=True))
        self.rb = redis.Redis(port=self.port, **client_opts(decode_responses=False))

    @property
    def reqs(self):
        return os.path.join(self.dir, "gears", "reqs")

    def stop(self):
        self.r.close()
        self.rb.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def servers(tmp_path):
    started = []

    def start(name="a"):
        s = Server(tmp_path / name)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def meta(entry):
    assert len(entry) == 18, entry
    assert entry[0::2] == REQ_FIELDS
    return dict(zip(entry[0::2], entry[1::2]))


def dump_reqs(r):
    return [meta(e) for e in r.execute_command("RG.PYDUMPREQS")]


def run_one(r, *args):
    results, errors = r.execute_command("RG.PYEXECUTE", *args)
    assert errors == [], errors
    assert len(results) == 1, results
    return results[0]


def test_requirements_install_from_pypi_and_import(servers):
    s = servers()
    out = run_one(s.r, VERSION_SCRIPT, "REQUIREMENTS", SIX)
    version, path = out.split("|")
    # The machine's own six (if any) is not the one imported.
    assert version == "1.16.0"
    assert path.startswith(s.reqs + "/" + SIX + "_") and path.endswith("/site/six.py")
    [m] = dump_reqs(s.r)
    assert m["GearReqVersion"] == 2
    assert m["Name"] == SIX
    assert m["IsDownloaded"] == "yes" and m["IsInstalled"] == "yes"
    assert m["CompiledOs"].startswith("linux-")
    assert m["Wheels"] == [SIX_WHEEL]
    assert m["Path"] == os.path.dirname(os.path.dirname(path))
    assert m["IsInReqDictionary"] == "yes"
    assert os.path.isfile(os.path.join(m["Path"], "wheels", SIX_WHEEL))


def test_pydumpsessions_requirement_fields(servers):
    s = servers()
    script = "import six\nGB('CommandReader').map(lambda x: six.__version__).register(trigger='t')"
    assert s.r.execute_command("RG.PYEXECUTE", script, "REQUIREMENTS", SIX) == "OK"
    [entry] = s.r.execute_command("RG.PYDUMPSESSIONS")
    assert entry[:2] == ["ID", entry[1]] and len(entry[1]) == 40
    assert entry[2:14] == [
        "sessionDescription", None, "refCount", 1, "linked", "primary", "dead", "false",
        "requirementInstallationNeeded", 1, "requirements", [SIX],
    ]
    assert entry[14] == "registrations" and len(entry[15]) == 1
    [verbose] = s.r.execute_command("RG.PYDUMPSESSIONS", "VERBOSE")
    [req] = verbose[13]
    assert meta(req)["Name"] == SIX and meta(req)["RefCount"] == 2
    # A second session reuses the installed requirement.
    script2 = script.replace("trigger='t'", "trigger='t2'")
    assert s.r.execute_command("RG.PYEXECUTE", script2, "ID", "s2", "REQUIREMENTS", SIX) == "OK"
    [s2] = s.r.execute_command("RG.PYDUMPSESSIONS", "SESSIONS", "s2")
    assert s2[10:14] == ["requirementInstallationNeeded", 0, "requirements", [SIX]]
    [m] = dump_reqs(s.r)
    assert m["IsInstalled"] == "yes" and m["RefCount"] == 3
    assert s.r.execute_command("RG.TRIGGER", "t2") == ["1.16.0"]


def test_force_reinstall_requirements(servers):
    s = servers()
    script = (
        "import six\nGB('CommandReader').map(lambda x: '%d|%s' % (id(six), six.__file__))"
        ".register(trigger='t')"
    )
    assert s.r.execute_command("RG.PYEXECUTE", script, "ID", "x", "REQUIREMENTS", SIX) == "OK"
    [m1] = dump_reqs(s.r)
    [before] = s.r.execute_command("RG.TRIGGER", "t")
    assert s.r.execute_command(
        "RG.PYEXECUTE", script, "ID", "x", "UPGRADE", "REQUIREMENTS", SIX) == "OK"
    assert dump_reqs(s.r)[0]["Path"] == m1["Path"]
    assert s.r.execute_command("RG.TRIGGER", "t") == [before]
    assert s.r.execute_command(
        "RG.PYEXECUTE", script, "ID", "x", "UPGRADE", "FORCE_REINSTALL_REQUIREMENTS",
        "REQUIREMENTS", SIX) == "OK"
    [m2] = dump_reqs(s.r)
    assert m2["Path"] != m1["Path"]
    [after] = s.r.execute_command("RG.TRIGGER", "t")
    assert after != before and after.split("|")[1].startswith(m2["Path"])


def test_unknown_requirement_is_an_error(servers):
    s = servers()
    with pytest.raises(redis.ResponseError, match="satisfy requirements") as e:
        s.r.execute_command(
            "RG.PYEXECUTE", "GB().run()", "REQUIREMENTS", "gears-host-missing-" + uuid.uuid4().hex)
    assert str(e.value) == (
        "Could not satisfy requirements (look at redis log file for more information)")
    assert s.r.execute_command("RG.PYDUMPREQS") == []


def test_pyexportreq_and_pyimportreq_with_redis_py(servers):
    a = servers("a")
    assert a.r.execute_command("RG.PYEXECUTE", "GB().register()", "REQUIREMENTS", SIX) == "OK"
    md, data = a.rb.execute_command("RG.PYEXPORTREQ", SIX)
    assert md[5] == b"yes" and md[7] == b"yes"
    b = servers("b")
    assert b.rb.execute_command("RG.PYDUMPREQS") == []
    for i in range(len(data)):
        with pytest.raises(redis.ResponseError):
            b.rb.execute_command("RG.PYIMPORTREQ", *data[:i])
    assert b.rb.execute_command("RG.PYIMPORTREQ", *data) == b"OK"
    out = b.r.execute_command(
        "RG.PYEXECUTE", "GB('ShardsIDReader').flatmap(lambda x: execute('RG.PYDUMPREQS')).run()")
    assert out[1] == []
    assert "'IsDownloaded', 'yes', 'IsInstalled', 'yes'" in out[0][0]


@pytest.fixture(scope="module")
def gears_cli(tmp_path_factory):
    """A command line for gears-cli: the installed module, or one pip puts in a temporary
    directory (without its dependencies: it pins redis<5, the tests' redis-py works)."""
    env = dict(os.environ)
    if importlib.util.find_spec("gears_cli") is None or importlib.util.find_spec("click") is None:
        target = str(tmp_path_factory.mktemp("gears-cli"))
        res = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--no-deps", "--target", target, "gears-cli", "click"],
            capture_output=True, text=True)
        if res.returncode != 0:
            pytest.fail("installing gears-cli from PyPI failed: %s" % res.stderr)
        env["PYTHONPATH"] = target + os.pathsep + env.get("PYTHONPATH", "")

    def run(*args, cwd=None):
        res = subprocess.run(
            [sys.executable, "-W", "ignore", "-m", "gears_cli", *args],
            capture_output=True, text=True, env=env, cwd=cwd)
        assert res.returncode == 0, "gears-cli %s: %s %s" % (args, res.stdout, res.stderr)
        return res.stdout

    return run


def test_gears_cli_export_then_import_into_fresh_server(servers, gears_cli, tmp_path):
    a = servers("a")
    assert a.r.execute_command(
        "RG.PYEXECUTE", "import six\nGB().register()", "REQUIREMENTS", SIX) == "OK"
    out_dir = tmp_path / "exported"
    out_dir.mkdir()
    gears_cli("export-requirements", "--port", str(a.port), "--requirement", SIX,
              "--save-directory", str(out_dir))
    [m] = dump_reqs(a.r)
    name = "redisgears-requirement-v2-%s-%s.zip" % (SIX, m["CompiledOs"])
    assert sorted(os.listdir(out_dir)) == [name]
    gears_cli("export-requirements", "--port", str(a.port), "--all",
              "--save-directory", str(out_dir), "--output-prefix", "all")
    assert ("all-%s.zip" % m["CompiledOs"]) in os.listdir(out_dir)

    b = servers("b")
    assert dump_reqs(b.r) == []
    out = gears_cli("import-requirements", "--port", str(b.port),
                    "--requirements-path", str(out_dir), name)
    assert "imported successfully" in out
    [mb] = dump_reqs(b.r)
    assert mb["Name"] == SIX and mb["IsDownloaded"] == "yes" and mb["IsInstalled"] == "yes"
    assert mb["Wheels"] == [SIX_WHEEL] and mb["Path"].startswith(b.reqs)
    version, path = run_one(b.r, VERSION_SCRIPT).split("|")
    assert version == "1.16.0" and path.startswith(mb["Path"])


def test_gears_cli_install_requirements_makes_packages_importable(servers, gears_cli):
    s = servers()
    out = gears_cli("install-requirements", "--port", str(s.port), SIX)
    assert "Done" in out
    # As in RedisGears: a session without registrations or executions does not put its
    # requirements in the dictionary, but what it installed stays importable.
    assert s.r.execute_command("RG.PYDUMPREQS") == []
    version, path = run_one(s.r, VERSION_SCRIPT).split("|")
    assert version == "1.16.0" and path.startswith(s.reqs)
    # And a later session asking for it reuses the installation.
    assert s.r.execute_command(
        "RG.PYEXECUTE", "GB().register()", "ID", "r", "REQUIREMENTS", SIX) == "OK"
    [entry] = s.r.execute_command("RG.PYDUMPSESSIONS", "SESSIONS", "r")
    assert entry[10:12] == ["requirementInstallationNeeded", 0]
