"""The remote backend against a misbehaving store: every failure is a clear 400 or 503.

A small HTTP server on a loopback port plays the store, and then the real stores (an Oxigraph
server and OpenLink Virtuoso, each started empty for this module) refuse, stall and stop;
``RemoteBackend`` is asked directly (the web layer turns BadRequest into 400, QueryTimeout and
BackendUnavailable into 503).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from kazdata.errors import BackendUnavailable, BadRequest, QueryTimeout
from kazdata.sparql.backends.remote import RemoteBackend
from kazdata.sparql.policy import QueryRequest, SelectResult
from tests.conftest import free_port, require_debian_package
from tests.processes import is_stopped, wait_until

STACK_TRACE = "java.lang.NullPointerException\n\tat org.apache.jena.sparql.engine.QueryExecutionBase"
ROWS = 200_000


class _Store(BaseHTTPRequestHandler):
    """The store's behaviour is chosen by the path of the endpoint URL."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = self.path.strip("/")
        if mode.isdigit():
            self._send(int(mode), STACK_TRACE.encode() if mode.startswith("5") else b"Parse error: line 1")
        elif mode == "anytime":  # Virtuoso's answer when its own time limit stopped the query
            body = b'{"head":{"vars":["n"]},"results":{"bindings":[{"n":{"type":"literal","value":"0"}}]}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("X-SQL-State", "S1TAT")
            self.send_header("X-SQL-Message", "RC...: Returning incomplete results, query interrupted by result timeout.")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif mode == "html":
            self._send(200, b"<html><body>maintenance</body></html>", "application/sparql-results+json")
        elif mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.end_headers()
            for byte in b'{"head":{"vars":["x"]},"results":{"bindings":[]}}':
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        elif mode == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.end_headers()
            self.wfile.write(b'{"head":{"vars":["x"]},"results":{"bindings":[')
            row = json.dumps({"x": {"type": "literal", "value": "v" * 100}}).encode()
            try:
                for index in range(ROWS):
                    self.wfile.write((b"," if index else b"") + row)
                self.wfile.write(b"]}}")
            except OSError:
                pass  # the client stopped reading: what a bounded reader does

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def store_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Store)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _ask(endpoint: str, timeout: float = 3.0, limit: int = 10):
    return RemoteBackend(endpoint, [], {}).query(QueryRequest("SELECT ?x WHERE { ?x ?p ?o }"),
                                                 limit=limit, timeout=timeout)


@pytest.mark.parametrize("status", [401, 403, 404, 405, 429, 500, 502, 503])
def test_a_store_failure_is_a_503_naming_neither_endpoint_nor_its_error_page(store_url, status):
    with pytest.raises(BackendUnavailable) as raised:
        _ask(f"{store_url}/{status}")
    assert "127.0.0.1" not in raised.value.message and "java" not in raised.value.message


def test_a_query_the_store_cannot_parse_is_a_400(store_url):
    with pytest.raises(BadRequest, match="Parse error"):
        _ask(f"{store_url}/400")


def test_an_unreachable_store_is_a_503_naming_no_address():
    with pytest.raises(BackendUnavailable) as raised:
        _ask(f"http://127.0.0.1:{free_port()}/query")
    assert "127.0.0.1" not in raised.value.message


def test_an_answer_that_is_not_sparql_results_is_a_503(store_url):
    with pytest.raises(BackendUnavailable):
        _ask(f"{store_url}/html")


def test_a_store_that_trickles_its_answer_cannot_hold_a_worker_past_the_limit(store_url):
    """Each read is under the socket timeout, but the whole answer must be too."""
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        _ask(f"{store_url}/trickle", timeout=1.0)
    assert time.monotonic() - started < 3


def test_a_huge_answer_is_cut_at_the_limit_as_it_streams_in(store_url):
    """A store asked for everything sends all of it; kazdata reads only what it keeps."""
    import tracemalloc
    tracemalloc.start()
    try:
        result = _ask(f"{store_url}/huge", timeout=30.0, limit=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(result, SelectResult) and len(result.rows) == 10 and result.truncated
    assert peak < 5_000_000  # the answer is ~25 MB


def test_an_incomplete_answer_flagged_by_the_store_is_a_time_out_not_rows(store_url):
    """Virtuoso's "anytime" answer (200, the rows found so far, ``X-SQL-State: S1TAT``) would
    pass for a complete one: a COUNT of 0 where there are millions."""
    with pytest.raises(QueryTimeout):
        _ask(f"{store_url}/anytime")


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def real_store(request, tmp_path_factory):
    """An empty real store of each kind, this module's own (the tests stop and pause it):
    (its SPARQL query URL, its process)."""
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "virtuoso":
        from tests.stores import VIRTUOSO, VirtuosoServer
        require_debian_package("virtuoso-opensource", VIRTUOSO)
        server = VirtuosoServer.start(folder, free_port, query_seconds=2)
        yield server.sparql, server.process
        server.stop()
        return
    port = free_port()
    process = subprocess.Popen([shutil.which("oxigraph") or "oxigraph", "serve", "--location", str(folder),
                                "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/query"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url, params={"query": "ASK {}"}, timeout=1)
            break
        except (requests.ConnectionError, requests.Timeout):  # not answering yet: a loaded machine
            time.sleep(0.1)
    yield url, process
    process.kill()
    process.wait()


def _ask_real(endpoint: str, query: str, timeout: float = 5.0):
    return RemoteBackend(endpoint, [], {}).query(QueryRequest(query), limit=10, timeout=timeout)


def test_a_real_store_answers_then_refuses_what_it_cannot_parse(real_store):
    endpoint, _process = real_store
    assert _ask_real(endpoint, "ASK {}").value is True  # kazdata's check lets this one through unparsed
    with pytest.raises(BadRequest, match="refused by the store"):
        _ask_real(endpoint, "SELECT ?x WHERE { ?x ?p ?o ")


def test_a_real_store_that_stalls_is_a_time_out_and_then_answers_again(real_store):
    """The store's process is paused (SIGSTOP): its socket accepts, nothing answers."""
    endpoint, process = real_store
    process.send_signal(signal.SIGSTOP)
    try:
        wait_until(lambda: is_stopped(process.pid), 10, "the store stopped")  # else it may still answer
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            _ask_real(endpoint, "ASK {}", timeout=1.0)
        assert time.monotonic() - started < 3
    finally:
        process.send_signal(signal.SIGCONT)
    assert _ask_real(endpoint, "ASK {}").value is True


def test_a_runaway_query_on_virtuoso_is_a_time_out_not_its_partial_rows(real_store):
    """Virtuoso's own limit (2 s here) stops the query first and answers 200 with a partial
    count; kazdata's limit is 10 s. Oxigraph, with no limit of its own, runs into kazdata's."""
    endpoint, _process = real_store
    endless = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
        f"VALUES ?v{i} {{ {' '.join(str(j) for j in range(40))} }}" for i in range(8)) + " }"
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        _ask_real(endpoint, endless, timeout=10.0 if "/sparql" in endpoint else 2.0)
    assert time.monotonic() - started < 9


def test_a_real_store_that_has_stopped_is_a_503_naming_no_address(real_store):
    """Last in this module: the store is gone for good."""
    endpoint, process = real_store
    process.kill()
    process.wait()
    with pytest.raises(BackendUnavailable) as raised:
        _ask_real(endpoint, "ASK {}")
    assert "127.0.0.1" not in raised.value.message
