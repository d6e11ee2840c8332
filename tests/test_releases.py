"""Releases change while serving: atomic switches, refused broken releases, replaced workers."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from kazdata.builder import build_release, quiet
from kazdata.builder.release_info import resolve_release_info
from kazdata.errors import ReleaseError
from kazdata.release.publish import publish
from kazdata.sources import bundled
from tests.conftest import KAZDATA, LiveServer
from tests.processes import OutputLines, is_running, wait_until

FIXTURES = Path(__file__).parent / "fixtures"
NEW_CLAIM = "/doc/claim/zhanaozen-shooting-deaths-example-wire.ttl"


@pytest.fixture(scope="module")
def second_release(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("second")
    sources = root / "sources"
    sources.mkdir()
    for path in [*bundled.sources_dir().glob("*.ttl"), FIXTURES / "second-source" / "example-wire-2011-12-20.ttl"]:
        shutil.copy(path, sources / path.name)
    # a new version: a version names one release, and publishing keeps both (kazdata.release.history)
    return build_release(root / "release", sources_dir=sources, progress=quiet,
                         info=replace(resolve_release_info(), version="1.0.1"))


def _hammer(server: LiveServer, stop: threading.Event, outcomes: list) -> None:
    session = requests.Session()
    paths = ["/doc/place/aktau.ttl", "/doc/event/zhanaozen-shooting-2011-12-16", "/dumps/SHA256SUMS",
             "/sparql?query=ASK%7B%3Fs%20a%20kaz%3AStrike%7D"]
    index = 0
    while not stop.is_set():
        path = paths[index % len(paths)]
        index += 1
        try:
            outcomes.append(session.get(server.url(path), timeout=10,
                                        headers={"Accept": "text/turtle, application/sparql-results+json"}).status_code)
        except requests.RequestException as error:
            outcomes.append(repr(error))


def test_switching_release_under_load_fails_no_request(tmp_path, release_dir, second_release):
    link = tmp_path / "current"
    publish(release_dir, link)
    server = LiveServer(link)
    try:
        assert requests.get(server.url(NEW_CLAIM)).status_code == 404
        stop, outcomes = threading.Event(), []
        threads = [threading.Thread(target=_hammer, args=(server, stop, outcomes)) for _ in range(4)]
        for thread in threads:
            thread.start()
        wait_until(lambda: len(outcomes) > 50, 30, "50 requests answered before the switch")
        publish(second_release, link)
        # every worker has switched when 16 requests in a row (spread over the 2 workers) find the
        # new release
        wait_until(lambda: all(requests.get(server.url(NEW_CLAIM)).status_code == 200 for _ in range(16)), 20,
                   "16 answers in a row from the new release")
        switched = len(outcomes)
        wait_until(lambda: len(outcomes) > switched + 50, 30, "50 requests answered after the switch")
        stop.set()
        for thread in threads:
            thread.join()
        assert len(outcomes) > 100
        assert [o for o in outcomes if o != 200] == []
        for _ in range(8):  # whichever worker answers, it serves the new release
            assert requests.get(server.url(NEW_CLAIM)).status_code == 200
    finally:
        server.stop()


def _tampered_copy(release_dir: Path, target: Path) -> Path:
    """A copy whose stored document of place/aktau, and the dump its SPARQL store loads, say
    "Tampered" (what an unverified server would send)."""
    shutil.copytree(release_dir, target)
    dump = target / "dumps" / "kazdata.nq"
    dump.write_bytes(dump.read_bytes().replace(b'"Aktau"', b'"Tampered"'))
    index_file, pack = target / "docs" / "entities.tsv", target / "docs" / "documents.nt.gz"
    lines, data = index_file.read_text().splitlines(keepends=True), pack.read_bytes()
    at = next(i for i, line in enumerate(lines) if line.startswith("place/aktau\t"))
    entry = json.loads(lines[at].split("\t", 1)[1])
    offset, length = entry["document"]
    tampered = gzip.compress(gzip.decompress(data[offset:offset + length]).replace(b"Aktau", b"Tampered"), mtime=0)
    entry["document"] = [len(data), len(tampered)]
    pack.write_bytes(data + tampered)
    lines[at] = "place/aktau\t" + json.dumps(entry) + "\n"
    index_file.write_text("".join(lines))
    return target


def test_a_tampered_release_is_refused_at_start(tmp_path, release_dir):
    tampered = _tampered_copy(release_dir, tmp_path / "tampered")
    result = subprocess.run([*KAZDATA, "serve", "--release", str(tampered), "--port", "1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "documents.nt.gz does not match its checksum" in result.stderr
    with pytest.raises(ReleaseError):
        publish(tampered, tmp_path / "link")


def _until(condition, seconds: float, between=lambda: None) -> bool:
    """Whether ``condition()`` came true within ``seconds``, calling ``between()`` while waiting."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        between()
        time.sleep(0.1)
    return condition()


def _point_at_a_tampered_copy(link: Path, release_dir: Path, tmp_path: Path) -> Path:
    """Repoint ``link`` at a tampered copy of ``release_dir``, bypassing `kazdata publish`
    (which would refuse it); returns the copy."""
    tampered = _tampered_copy(release_dir, tmp_path / "tampered")
    (tmp_path / "sneak").symlink_to(tampered)
    os.replace(tmp_path / "sneak", link)
    return tampered


def _names_of_aktau(server: LiveServer) -> list[str]:
    """Aktau's names, asked over SPARQL."""
    answer = requests.get(server.url("/sparql"), timeout=10, headers={"Accept": "application/sparql-results+json"},
                          params={"query": "SELECT ?name WHERE { <https://w3id.org/kazdata/id/place/aktau> "
                                           "schema:name ?name FILTER(LANG(?name) = 'en') }"})
    assert answer.status_code == 200, answer.text
    return [row["name"]["value"] for row in answer.json()["results"]["bindings"]]


def _asks(server: LiveServer, query: str) -> bool:
    answer = requests.get(server.url("/sparql"), params={"query": query}, timeout=10,
                          headers={"Accept": "application/sparql-results+json"})
    return answer.status_code == 200 and answer.json()["boolean"]


def test_a_server_keeps_its_release_when_the_new_one_is_tampered(tmp_path, release_dir, second_release):
    """Both workers look at the tampered release (each says so in the log) and keep serving the
    old one; a good release published after it is switched to, so they were still looking."""
    link = tmp_path / "current"
    publish(release_dir, link)
    server = LiveServer(link)
    try:
        output = OutputLines(server.process)
        tampered = _point_at_a_tampered_copy(link, release_dir, tmp_path)
        answers: list[requests.Response] = []

        def ask() -> None:  # requests make the workers look at the pointer (at most once a second)
            answers.append(requests.get(server.url("/doc/place/aktau.ttl"), timeout=10))

        assert _until(lambda: output.count(f"not switching to {tampered}") >= 2, 60, ask), output.lines
        assert "documents.nt.gz does not match its checksum" in "".join(output.lines)
        assert len(answers) >= 2 and all(a.status_code == 200 and "Tampered" not in a.text for a in answers)
        for _ in range(6):
            ask()
        assert "Tampered" not in answers[-1].text and "Aktau" in answers[-1].text
        # the query supervisor started for it refused it too, and SPARQL answers from the old one
        refusal = "cannot start the query supervisor: " + str(tampered)
        assert _until(lambda: output.count(refusal) >= 1, 30), output.lines
        assert "does not match its checksum" in next(line for line in output.lines if refusal in line)
        assert _names_of_aktau(server) == ["Aktau"]
        kept = publish(second_release, link).resolve()  # the copy kept in the history is what the link names
        assert _until(lambda: output.count(f"now serving release {kept}") >= 2, 60, ask), output.lines
        assert _until(lambda: all(requests.get(server.url(NEW_CLAIM), timeout=10).status_code == 200
                                  for _ in range(8)), 30)
        new_claim = NEW_CLAIM.removeprefix("/doc/").removesuffix(".ttl")  # and the new release's store answers
        assert _until(lambda: _asks(server, f"ASK {{ <https://w3id.org/kazdata/id/{new_claim}> ?p ?o }}"), 30)
    finally:
        server.stop()


def test_a_worker_restarted_while_the_pointer_names_a_tampered_release_serves(tmp_path, release_dir):
    """A worker (re)started while the pointer names a release that fails verification serves the
    release the server verified at start. It used to raise, granian restarted it in a loop and
    then exited: the whole server down (the cause of this module's flaky tampered-release test)."""
    link = tmp_path / "current"
    publish(release_dir, link)
    server = LiveServer(link)
    try:
        output = OutputLines(server.process)
        tampered = _point_at_a_tampered_copy(link, release_dir, tmp_path)
        workers = server.settled(workers=2)["workers"]
        for victim in workers:
            os.kill(victim, signal.SIGKILL)
        assert _until(lambda: len(server.processes()["workers"] - workers) == 2, 30), output.lines
        assert server.process.poll() is None, output.lines

        def answers() -> bool:  # the new workers exist before they listen
            try:
                return requests.get(server.url("/doc/place/aktau.ttl"), timeout=10).status_code == 200
            except (requests.ConnectionError, requests.Timeout):  # not answering yet: a loaded machine
                return False
        assert _until(answers, 30) and server.process.poll() is None, output.lines
        for _ in range(10):
            response = requests.get(server.url("/doc/place/aktau.ttl"), timeout=10)
            assert response.status_code == 200 and "Aktau" in response.text and "Tampered" not in response.text
        assert _until(lambda: output.count(f"not switching to {tampered}") >= 2, 10), output.lines
    finally:
        server.stop()


def test_a_killed_worker_is_replaced(release_dir):
    """Its own server: killing a worker of the shared one would change what later tests see."""
    server = LiveServer(release_dir)
    try:
        workers = server.settled(workers=2)["workers"]  # LiveServer's --workers
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        assert _until(lambda: len(server.processes()["workers"]) == 2 and victim not in server.processes()["workers"], 20)
        assert not Path(f"/proc/{victim}").exists() or "State:\tZ" in Path(f"/proc/{victim}/status").read_text()
        statuses = [requests.get(server.url("/doc/place/aktau.ttl"), timeout=5).status_code for _ in range(30)]
        assert statuses == [200] * 30
    finally:
        server.stop()


def _ask(server) -> int:
    return requests.get(server.url("/sparql"), params={"query": "ASK { ?e a kaz:Strike }"},
                        headers={"Accept": "application/sparql-results+json"}, timeout=10).status_code


SERVERS = ["gunicorn", "granian", "granian-rsgi"]


@pytest.mark.parametrize("server_name", SERVERS)
def test_a_killed_query_process_or_supervisor_is_replaced(release_dir, settings, server_name):
    """Under either HTTP server: the supervisor replaces a query process, and the keeper that
    ``kazdata serve`` runs as replaces the supervisor (docs/decisions/005)."""
    server = LiveServer(release_dir, ["--server", server_name])
    try:
        # LiveServer's --workers (gunicorn forks them one by one) and the default query processes
        tree = server.settled(workers=2, queries=settings.query_processes)
        killed = min(tree["queries"])
        os.kill(killed, signal.SIGKILL)
        statuses = [_ask(server) for _ in range(10)]
        assert statuses == [200] * 10, statuses
        # replaced: the killed process is gone and the count is back to what it was
        wait_until(lambda: not is_running(killed), 10, f"query process {killed} reaped")
        wait_until(lambda: len(server.processes()["queries"]) == len(tree["queries"]), 10,
                   f"{len(tree['queries'])} query processes again")
        assert killed not in server.processes()["queries"]
        os.kill(tree["supervisor"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.processes()["supervisor"] in (None, tree["supervisor"]):
            time.sleep(0.2)
        after = server.processes()
        assert after["supervisor"] not in (None, tree["supervisor"])
        assert all(_ask(server) == 200 for _ in range(10))
        assert not (after["queries"] & tree["queries"])  # the orphans of the killed supervisor ended
        assert after["http"] == tree["http"] and after["workers"] == tree["workers"]  # untouched
    finally:
        server.stop()


def _gone(pids: set[int], seconds: float = 10) -> set[int]:
    """Those of ``pids`` still running (zombies of an ended parent count as gone) after waiting."""
    def running() -> set[int]:
        alive = set()
        for pid in pids:
            try:
                if "State:\tZ" not in Path(f"/proc/{pid}/status").read_text():
                    alive.add(pid)
            except OSError:
                pass
        return alive
    deadline = time.monotonic() + seconds
    while running() and time.monotonic() < deadline:
        time.sleep(0.2)
    return running()


@pytest.mark.parametrize("server_name", SERVERS)
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_server_leaves_no_process_or_socket_behind(release_dir, settings, server_name, stop_signal,
                                                                tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the query processes' socket folder goes
    server = LiveServer(release_dir, ["--server", server_name])
    try:
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith("kazdata-query-")]
        server.settled(workers=2, queries=settings.query_processes)  # every process up, to be stopped
        everything = server.descendants()
        assert len(everything) >= 5  # keeper's children: HTTP master, workers, supervisor, queries
        os.kill(server.process.pid, stop_signal)
        assert server.process.wait(30) == 0
        assert _gone(everything) == set()
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("kazdata-query-")]
        assert "kazdata: serving" in server.process.stdout.read().decode()
    finally:
        server.stop()


def test_a_killed_keeper_takes_the_whole_server_with_it(release_dir, tmp_path, monkeypatch):
    """If ``kazdata serve`` itself is SIGKILLed, the kernel stops the HTTP server and the
    supervisor sees its parent gone: nothing keeps the port or runs queries unsupervised, and
    the supervisor removes the socket folder the keeper can no longer remove."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the query processes' socket folder goes
    server = LiveServer(release_dir)
    try:
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith("kazdata-query-")]
        everything = server.descendants()
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        assert _gone(everything, seconds=20) == set()
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("kazdata-query-")]
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url("/"), timeout=2)
    finally:
        server.stop()


def test_the_gunicorn_server_option_serves_documents_and_queries(release_dir):
    """`--server gunicorn` is offered beside the default granian (docs/decisions/005); it must serve."""
    server = LiveServer(release_dir, ["--server", "gunicorn"])
    try:
        document = requests.get(server.url("/doc/place/aktau"), headers={"Accept": "text/turtle"})
        assert document.status_code == 200 and "Aktau" in document.text
        answer = requests.get(server.url("/sparql"), params={"query": "ASK { ?e a kaz:Strike }"},
                              headers={"Accept": "application/sparql-results+json"})
        assert answer.json()["boolean"] is True
    finally:
        server.stop()
