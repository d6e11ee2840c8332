"""Shared fixtures: a release built once per test session, the app, and a live server.

The live server is the real thing: ``kazdata serve`` in a subprocess (the production server, as deployed)
on a free loopback port, talked to with real clients.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import hypothesis
import pyoxigraph as ox
import pytest
import requests
from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase

from kazdata.builder import build_release, quiet
from kazdata.settings import load_settings
from tests.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
#: The ``kazdata`` command of the interpreter running the tests: never whatever ``kazdata`` is
#: first on PATH, which may be another installation.
KAZDATA = [sys.executable, "-m", "kazdata"]
IN_CI = os.environ.get("CI", "").lower() == "true"

#: Hypothesis keeps the examples that failed in the repository, so each one is replayed on every
#: machine; CI reads them without writing and draws the rest from a fixed seed, so a run there is
#: repeatable and its seed is printed in the report header (``KAZDATA_HYPOTHESIS_SEED`` or
#: pytest's ``--hypothesis-seed`` to change it). A failure prints the blob that reproduces it.
#: ``derandomize=False`` in both: hypothesis's own default on a machine it takes for CI derives
#: each test's draws from the test's source, which would take precedence over the seed and
#: make the header's seed (and changing it) mean nothing.
HYPOTHESIS_EXAMPLES = ROOT / "tests" / "hypothesis-examples"
HYPOTHESIS_SEED = int(os.environ.get("KAZDATA_HYPOTHESIS_SEED", "20111216"))
hypothesis.settings.register_profile(
    "kazdata-ci", database=ReadOnlyDatabase(DirectoryBasedExampleDatabase(HYPOTHESIS_EXAMPLES)), print_blob=True,
    derandomize=False)
hypothesis.settings.register_profile(
    "kazdata-dev", database=DirectoryBasedExampleDatabase(HYPOTHESIS_EXAMPLES), print_blob=True, derandomize=False)
hypothesis.settings.load_profile("kazdata-ci" if IN_CI else "kazdata-dev")


def pytest_configure(config) -> None:
    if IN_CI and config.getoption("hypothesis_seed", None) is None:
        from hypothesis import core
        core.global_force_seed = HYPOTHESIS_SEED


def pytest_report_header(config) -> str:
    from hypothesis import core
    seed = core.global_force_seed
    return (f"hypothesis: profile {hypothesis.settings.get_current_profile_name()}, "
            f"seed {seed if seed is not None else 'random (printed with any failure)'}, "
            f"examples kept in {HYPOTHESIS_EXAMPLES.relative_to(ROOT)}")


def require_debian_package(package: str, executable: str) -> str:
    """The path of ``executable``; skip outside CI when the Debian package is missing, fail in CI."""
    found = shutil.which(executable) or (executable if os.path.exists(executable) else None)
    if found:
        return found
    message = f"needs the Debian package {package!r} ({executable} not found): apt-get install {package}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def wait_until_serving(process: subprocess.Popen, url: str, name: str, seconds: float) -> None:
    """Return once ``url`` answers; RuntimeError with the process's output if it exits first,
    or if it does not answer within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: " + process.stdout.read().decode(errors="replace"))
        try:
            requests.get(url, timeout=1)
            return
        except (requests.ConnectionError, requests.Timeout):
            # a server that accepts but has not answered within 1 s is starting on a loaded
            # machine (an nginx origin of test_deploy was, with -n 3 beside 4 busy loops): ask again
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not start within {seconds:g} s")


#: Ports each test process hands out, below Linux's ephemeral range (32768-60999): a port the
#: kernel picks for ``bind(0)`` in one xdist worker can be picked again by another the moment it
#: is closed, and then two test servers share a port, one test talking to the other's server.
PORTS_PER_WORKER = 2000
_next_port = itertools.count()


def free_port() -> int:
    """A loopback port no other test process of this run will be handed, free now."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    start = 20000 + PORTS_PER_WORKER * (index % 6)
    for _ in range(PORTS_PER_WORKER):
        port = start + next(_next_port) % PORTS_PER_WORKER
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + PORTS_PER_WORKER - 1}")


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory) -> Path:
    return build_release(tmp_path_factory.mktemp("release") / "release", progress=quiet)


@pytest.fixture(scope="session")
def dump_store(release_dir) -> ox.Store:
    """The published Turtle dump, loaded into Oxigraph (what an archivist downloads)."""
    store = ox.Store()
    store.bulk_load(path=str(release_dir / "dumps" / "kazdata.ttl"), format=ox.RdfFormat.TURTLE)
    return store


@pytest.fixture(scope="session")
def settings(release_dir) -> dict:
    # no per-client cap on the shared app and server: every test is the same client, one after
    # another, and queries an earlier test gave up count until the time limit, so the cap would
    # make a test's answer depend on the tests before it; the cap is tested on servers of its own
    # (tests/test_hostile_web.py)
    return load_settings({"release": release_dir, "queries_per_client": 0}, environ={})


@pytest.fixture(scope="session")
def app(settings):
    from kazdata.web.app import create_app
    return create_app(settings)


@pytest.fixture()
def client(app):
    return app.test_client()


class ServerProcess:
    """A server process on a loopback port, started and waited for once; ``url(path)`` gives
    absolute URLs on it."""

    def __init__(self, name: str, command: list[str], port: int, seconds: float, **popen) -> None:
        self.port = port
        self.root = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
        try:
            wait_until_serving(self.process, self.root + "/", name, seconds)
        except BaseException:  # whatever stopped the wait, the process must not outlive it
            self.stop()
            raise

    def url(self, path: str) -> str:
        return self.root + path

    def stop(self) -> None:
        stop_process(self.process, 10)


class LiveServer(ServerProcess):
    """A ``kazdata serve`` process, as deployed."""

    def __init__(self, release: Path, extra: list[str] | None = None) -> None:
        port = free_port()
        command = [*KAZDATA, "serve", "--release", str(release),
                   "--host", "127.0.0.1", "--port", str(port), "--workers", "2", *(extra or [])]
        super().__init__("kazdata serve", command, port, 60, cwd=ROOT,
                         env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def processes(self) -> dict:
        """The server's process tree (``kazdata.runtime.keeper``), told apart by process name: the
        ``http`` server's master and its ``workers``, the query ``supervisor`` and its
        ``queries`` processes."""
        def children(pid: int | None) -> set[int]:
            if pid is None:
                return set()
            out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
            return {int(child) for child in out.split()}

        def named(pids: set[int], name: str) -> set[int]:
            """Those named ``name``; for ``kz-http`` also granian's ``kz-http worker-N``, as it names
            its workers when setproctitle is installed (cut to 15 characters)."""
            found = set()
            for pid in pids:
                try:
                    comm = Path(f"/proc/{pid}/comm").read_text().strip()
                    if comm == name or (name == "kz-http" and comm.startswith("kz-http worker")):
                        found.add(pid)
                except OSError:
                    pass  # it has just ended
            return found

        top = children(self.process.pid)
        http = min(named(top, "kz-http"), default=None)
        supervisor = min(named(top, "kz-query-super"), default=None)
        return {"http": http, "workers": named(children(http), "kz-http"), "supervisor": supervisor,
                "queries": named(children(supervisor), "kz-query")}

    def settled(self, workers: int, queries: int | None = None, seconds: float = 30) -> dict:
        """``processes()`` once it shows ``workers`` web workers and ``queries`` query processes
        (any number if None) under a supervisor. The server answers as soon as one worker
        listens: the others, and the query processes, may still be starting (or not yet named)."""
        deadline = time.monotonic() + seconds
        while True:
            tree = self.processes()
            if tree["supervisor"] and len(tree["workers"]) == workers and (
                    queries is None or len(tree["queries"]) == queries) and tree["queries"]:
                return tree
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {seconds} s: {workers} web workers and "
                                     f"{queries or 'some'} query processes, only {tree}")
            time.sleep(0.05)

    def descendants(self) -> set[int]:
        """Every process below ``kazdata serve``, however deep."""
        found, todo = set(), [self.process.pid]
        while todo:
            out = subprocess.run(["pgrep", "-P", str(todo.pop())], capture_output=True, text=True).stdout
            for child in map(int, out.split()):
                found.add(child)
                todo.append(child)
        return found


@pytest.fixture(scope="session")
def live_server(release_dir):
    # the time limit and the cap as ``settings``'s. Not shorter: a query past 0.2 s is reniced to
    # 19 (kazdata.runtime.supervisor), and beside a busy CPU it then gets about 1% of a core; at
    # a 3 s limit a CONSTRUCT of a few cities and the check of a 150-byte query were cut at the
    # limit (503) with 4 test workers and 4 busy loops on 2 cores. Tests of the limit itself
    # start servers of their own.
    server = LiveServer(release_dir, ["--query-timeout", "10", "--queries-per-client", "0"])
    yield server
    server.stop()


@pytest.fixture(scope="session")
def steady_server(release_dir):
    """A server whose processes change only by what the test using it does, for tests that
    compare its processes before and after. On the shared ``live_server`` a query process is
    replaced at any moment: an earlier test's query given up by its client runs on to the time
    limit and is killed there, and any query past 0.2 s has its process reniced, then replaced
    (kazdata.runtime.supervisor); in that order the nesting test saw a query process "die".
    Tests give up no slow query on this one, and it waits until every process is up (query
    processes are forked after the server first answers)."""
    server = LiveServer(release_dir, ["--query-timeout", "3", "--queries-per-client", "0", "--query-processes", "4"])
    try:
        server.settled(workers=2, queries=4)
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory):
    """An empty OpenLink Virtuoso (Debian's ``virtuoso-opensource``) on two free loopback ports,
    with a throw-away database folder and ini and its own ``dba`` password
    (``tests/stores.py``); stopped after the session."""
    from tests.stores import VIRTUOSO, VirtuosoServer
    require_debian_package("virtuoso-opensource", VIRTUOSO)
    # its own query limit bounds a Graph Store PUT too: 20 s lets a 4 MB graph in on a busy machine
    server = VirtuosoServer.start(tmp_path_factory.mktemp("virtuoso"), free_port, query_seconds=20)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per module (the page and query-page tests)."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM_ARGS
    chromium = require_debian_package("chromium", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
