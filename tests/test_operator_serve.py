"""``kazdata serve`` as an operator starts it: every setting checked before anything starts, one
server per port, errors always logged, requests logged when asked (issue 14, the server process)."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import KAZDATA, LiveServer, free_port
from tests.processes import OutputLines, wait_until

ROOT = Path(__file__).resolve().parent.parent
#: host ident user [day/Mon/year:hh:mm:ss zone] "method target protocol" status bytes
COMMON_LOG_LINE = re.compile(r'^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
                             r'"GET /doc/place/aktau\?from=test HTTP/1\.1" 200 (\d+|-)$', re.MULTILINE)


def serve(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """``kazdata serve`` that is expected to refuse: it must end by itself, quickly."""
    import os
    return subprocess.run([*KAZDATA, "serve", *args], capture_output=True, text=True, cwd=cwd, timeout=60,
                          env={**os.environ, **(env or {})})


def one_line_refusal(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 or "usage:" in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[-1], result.stderr
    for sign in ("Traceback", "serving", "panicked", "RUST_BACKTRACE", "Error:"):
        assert sign not in result.stderr, result.stderr


@pytest.mark.parametrize("flags, env, message", [
    (["--port", "99999"], {}, "99999 is out of range: a TCP port from 1 to 65535"),
    ([], {"KAZDATA_PORT": "99999"}, "KAZDATA_PORT='99999': 99999 is out of range"),
    (["--workers", "0"], {}, "0 is out of range"),
    (["--query-timeout", "-1"], {}, "not a positive number of seconds"),
])
def test_a_setting_out_of_range_is_refused_before_anything_starts(flags, env, message, release_dir):
    one_line_refusal(serve("--release", str(release_dir), *flags, env=env), message)


def test_a_release_that_is_a_file_or_missing_is_refused_and_nothing_is_built(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    one_line_refusal(serve("--release", str(a_file)), f"--release {a_file} is a file")
    mistyped = tmp_path / "relaese"
    one_line_refusal(serve("--release", str(mistyped)), f"no release at {mistyped}", "kazdata build")
    assert not mistyped.exists()
    one_line_refusal(serve(cwd=tmp_path), "no release at release")  # the default, ./release
    assert list(tmp_path.iterdir()) == [a_file]


def test_query_processes_0_is_refused_under_a_production_server(release_dir):
    one_line_refusal(serve("--release", str(release_dir), "--query-processes", "0"),
                     "--query-processes 0", "development only")


def test_a_second_server_on_a_taken_port_refuses_to_start(live_server, release_dir):
    second = serve("--release", str(release_dir), "--port", str(live_server.port), "--workers", "1")
    one_line_refusal(second, f"port {live_server.port} on 127.0.0.1 is already in use")
    answers = [requests.get(live_server.url("/doc/place/aktau"), timeout=10).status_code for _ in range(6)]
    assert answers == [200] * 6


def test_a_port_held_by_another_program_is_one_line(release_dir):
    with socket.socket() as holder:  # another program: a plain listening socket
        holder.bind(("127.0.0.1", free_port()))
        holder.listen(1)
        port = holder.getsockname()[1]
        one_line_refusal(serve("--release", str(release_dir), "--port", str(port)),
                         f"port {port} on 127.0.0.1 is already in use")


def listen_check(port: int) -> str:
    """What a second server's port check sees: "free" if a socket without ``SO_REUSEPORT`` can
    listen on the port, else the error's name (written here, not imported from kazdata)."""
    import errno
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen(1)
        except OSError as error:
            return errno.errorcode[error.errno]
    return "free"


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_the_port_is_held_from_the_check_until_the_server_listens(server, release_dir):
    """Between ``kazdata serve``'s port check and the HTTP server's bind the query processes start
    (a second or more here); a second server checking then used to find the port free and start
    beside the first. The port is now reserved at the check: busy all along, and the server
    behind it still gets every connection."""
    import os
    port = free_port()
    process = subprocess.Popen(
        [*KAZDATA, "serve", "--release", str(release_dir), "--port", str(port), "--workers", "1",
         "--server", server], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stderr is not None
        for line in process.stderr:  # printed once the query processes run, before the HTTP server starts
            if line.startswith("kazdata: serving"):
                break
        assert listen_check(port) == "EADDRINUSE"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not answering yet: a loaded machine
                pass
            assert time.monotonic() < deadline and process.poll() is None, "the server did not start"
            time.sleep(0.2)
        assert listen_check(port) == "EADDRINUSE"
        with requests.Session() as fresh:  # a new connection each: none may land on the reservation
            fresh.headers["Connection"] = "close"
            assert [fresh.get(f"http://127.0.0.1:{port}/doc/place/aktau", timeout=10).status_code
                    for _ in range(20)] == [200] * 20
    finally:
        process.terminate()
        process.wait(30)
    assert listen_check(port) == "free"


def test_access_log_in_common_log_format_and_errors_always_logged(release_dir, tmp_path):
    access = tmp_path / "access.log"
    server = LiveServer(release_dir, ["--access-log", str(access), "--query-timeout", "1"])
    output_lines = OutputLines(server.process)
    try:
        assert requests.get(server.url("/doc/place/aktau?from=test"), timeout=10).status_code == 200
        runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
        assert requests.post(server.url("/sparql"), data={"query": runaway}, timeout=30).status_code == 503
        deadline = time.monotonic() + 10
        while not COMMON_LOG_LINE.search(access.read_text() if access.exists() else ""):
            assert time.monotonic() < deadline, "no access-log line: " + (access.read_text() if access.exists() else "")
            time.sleep(0.1)
        # the web worker answers 503 at the 1 s limit counted from its sending; the supervisor
        # kills (and logs) at 1 s from its handing the query on, a moment later: stopped before
        # that, the server would never write the line
        wait_until(lambda: output_lines.count("killed query process"), 10, "the supervisor's line on the kill")
    finally:
        server.stop()
    output = output_lines.whole()
    assert "killed query process" in output and "POST /sparql answered 503" in output
    assert '"GET /doc/place/aktau' not in output  # the access log went to the file only
    assert "[WARNING] Configured number of workers" not in output and "quite high" not in output


def test_no_access_log_by_default_but_errors_are_logged(release_dir):
    server = LiveServer(release_dir, ["--query-timeout", "1"])
    output_lines = OutputLines(server.process)
    try:
        assert requests.get(server.url("/doc/place/aktau?from=test"), timeout=10).status_code == 200
        runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
        assert requests.post(server.url("/sparql"), data={"query": runaway}, timeout=30).status_code == 503
        # a wait for the line, not a 0.5 s sleep: stopped before it reached the pipe, the server
        # would never write it
        wait_until(lambda: output_lines.count("POST /sparql answered 503"), 10, "the error's log line")
    finally:
        server.stop()
    output = output_lines.whole()
    assert "POST /sparql answered 503" in output
    assert "/doc/place/aktau" not in output


def test_construct_as_json_ld_is_the_same_graph_written_by_pyoxigraph(live_server):
    """Expanded JSON-LD from pyoxigraph's writer, not rdflib's compaction in the web worker
    (which took 2.6 s against 0.034 s for 10,000 triples: ``bench/construct_jsonld.py``)."""
    import rdflib
    from rdflib.compare import isomorphic
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 500"
    answers = {accept: requests.post(live_server.url("/sparql"), data={"query": query},
                                     headers={"Accept": accept}, timeout=30)
               for accept in ("application/ld+json", "application/n-triples")}
    assert all(answer.status_code == 200 for answer in answers.values())
    assert answers["application/ld+json"].headers["Content-Type"].startswith("application/ld+json")
    document = answers["application/ld+json"].json()
    assert list(document) == ["@graph"] and isinstance(document["@graph"], list)  # expanded: no context
    assert "@context" not in answers["application/ld+json"].text
    as_json_ld = rdflib.Graph().parse(data=answers["application/ld+json"].text, format="json-ld")
    as_ntriples = rdflib.Graph().parse(data=answers["application/n-triples"].text, format="nt")
    assert len(as_ntriples) == 500 and isomorphic(as_json_ld, as_ntriples)
