"""The remote backend against a misbehaving store: every failure is a clear 400 or 503.

A small HTTP server on a loopback port plays the store; ``RemoteBackend`` is asked directly
(the web layer turns BadRequest into 400, QueryTimeout and BackendUnavailable into 503).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kazdata.errors import BackendUnavailable, BadRequest, QueryTimeout
from kazdata.sparql.backends.remote import RemoteBackend
from kazdata.sparql.policy import QueryRequest, SelectResult
from tests.conftest import free_port

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
