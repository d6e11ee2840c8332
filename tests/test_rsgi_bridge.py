"""The RSGI bridge (``--server granian-rsgi``, kazdata.web.rsgi) answers as granian's WSGI
interface does: the same status, headers and bytes, request by request, from two real servers.

The WSGI server is the reference: it is what the rest of the suite checks against the HTTP
contract. What differs on purpose (a late body's 408) is in tests/test_hostile_web.py.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import socket
import struct
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from werkzeug.test import EnvironBuilder

from kazdata.web.rsgi import RsgiBridge
from kazdata.web.wsgi_calls import BATCH, FilesWrapped, call_app
from tests.conftest import LiveServer
from tests.processes import wait_until

TURTLE = {"Accept": "text/turtle"}
SPARQL_JSON = {"Accept": "application/sparql-results+json"}
#: answered whole by the query process, more than one 64 kB batch of the bridge
LARGE = ("SELECT ?x WHERE { VALUES ?a { " + " ".join(map(str, range(40))) + " } VALUES ?b { "
         + " ".join(map(str, range(40))) + ' } BIND(CONCAT(STR(?a), "-", STR(?b), "' + "w" * 100 + '") AS ?x) }')
#: (method, path, headers, body)
EXCHANGES = [
    ("GET", "/doc/place/aktau", TURTLE, None),
    ("GET", "/doc/place/aktau", {"Accept": "text/turtle", "Accept-Encoding": "gzip"}, None),
    ("GET", "/doc/place/aktau.jsonld", {}, None),
    ("GET", "/doc/place/aktau", {"Accept": "text/html", "Accept-Language": "ru, en;q=0.5"}, None),
    ("HEAD", "/doc/place/aktau", TURTLE, None),
    ("GET", "/doc/place/aktau?x=1", TURTLE, None),
    ("GET", "/doc/place/aktau", {**TURTLE, "Range": "bytes=0-9"}, None),
    ("GET", "/doc/place/no-such-place", TURTLE, None),
    ("GET", "/doc/place/no-such-place", {"Accept": "text/html"}, None),
    ("GET", "/id/place/aktau", {}, None),
    ("GET", "/dumps/kazdata.nt", {}, None),
    ("GET", "/dumps/kazdata.nt", {"Accept-Encoding": "gzip"}, None),
    ("HEAD", "/dumps/kazdata.nt", {}, None),
    ("GET", "/dumps/kazdata.nt", {"Range": "bytes=10-19"}, None),
    ("GET", "/dumps/kazdata.nt", {"Range": "bytes=-5"}, None),
    ("GET", "/dumps/kazdata.nt", {"Range": "bytes=5-3"}, None),
    ("GET", "/dumps/kazdata.nt", {"Range": "bytes=99999999-"}, None),
    ("GET", "/dumps/kazdata.nt", {"If-Match": '"nope"'}, None),
    ("GET", "/dumps/", {}, None),
    ("GET", "/", {}, None),
    ("GET", "/sitemap.xml", {}, None),
    ("GET", "/sparql", {"Accept": "text/turtle"}, None),
    ("GET", "/sparql", {"Accept": "text/html"}, None),
    ("OPTIONS", "/sparql", {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}, None),
    ("GET", "/sparql?query=" + quote("ASK {}"), SPARQL_JSON, None),
    ("GET", "/sparql?query=" + quote('ASK { FILTER("é" = "é") }'), SPARQL_JSON, None),
    ("GET", "/sparql?query=" + quote("SELEKT nothing"), SPARQL_JSON, None),
    ("GET", "/sparql?query=" + quote(LARGE), {"Accept": "text/csv"}, None),
    ("POST", "/sparql", {**SPARQL_JSON, "Content-Type": "application/sparql-query"}, b"ASK { ?s ?p ?o }"),
    ("POST", "/sparql", {**SPARQL_JSON, "Content-Type": "application/x-www-form-urlencoded"},
     ("query=" + quote(LARGE)).encode()),
    ("POST", "/sparql", {**SPARQL_JSON, "Content-Type": "text/plain"}, b"ASK {}"),
    ("DELETE", "/sparql", {}, None),
]


@pytest.fixture(scope="module")
def servers(release_dir):
    started = [LiveServer(release_dir, ["--server", name, "--workers", "1", "--queries-per-client", "0"])
               for name in ("granian", "granian-rsgi")]
    yield started
    for server in started:
        server.stop()


def exchange(server: LiveServer, method: str, path: str, headers: dict, body: bytes | None,
             chunked: bool = False) -> tuple[int, dict, bytes]:
    """Status, headers (but Date and Connection) and the bytes as sent, gzip left as it is.

    Connection is hop-by-hop and, under WSGI, hyper's choice: when the app answers without
    reading a body (a 400 for the wrong Content-Type), hyper keeps the connection if the body
    had already arrived and closes it if not, a race between two packets (seen in CI)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        if chunked:
            connection.request(method, path, body=iter([body[:5], body[5:]]) if body else None,
                               headers=headers, encode_chunked=True)
        else:
            connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders() if k.lower() not in ("date", "connection")}, data
    finally:
        connection.close()


@pytest.mark.parametrize(("method", "path", "headers", "body"), EXCHANGES,
                         ids=[f"{m} {p[:60]} {sorted(h.items())}"[:120] for m, p, h, _ in EXCHANGES])
def test_the_bridge_answers_as_wsgi_does(servers, method, path, headers, body):
    wsgi, rsgi = (exchange(server, method, path, headers, body) for server in servers)
    assert rsgi == wsgi


def test_a_conditional_request_gets_the_same_304(servers):
    _status, headers, _body = exchange(servers[0], "GET", "/doc/place/aktau", TURTLE, None)
    conditional = {**TURTLE, "If-None-Match": headers["etag"]}
    wsgi, rsgi = (exchange(server, "GET", "/doc/place/aktau", conditional, None) for server in servers)
    assert wsgi[0] == 304 and rsgi == wsgi


def test_a_body_past_max_body_gets_the_same_413_unread(servers):
    """Announced past ``--max-body``: refused by its length, never read (the bridge does not
    await it). The bridge's answer also closes the connection, the body being unread."""
    answers = []
    for server in servers:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nAccept: application/sparql-results+json\r\n"
                         b"Content-Type: application/sparql-query\r\nContent-Length: 2000000\r\n\r\nASK")
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = sorted(line.lower() for line in head.split(b"\r\n")[1:]
                       if not line.lower().startswith((b"date:", b"connection:")))
        answers.append((head.split(b"\r\n")[0], lines, body))
    assert answers[0][0] == b"HTTP/1.1 413 Payload Too Large" and answers[1] == answers[0]
    assert b"request body" in answers[0][2].lower() or b"limit" in answers[0][2]


def test_a_chunked_body_is_read_as_wsgi_reads_it(servers):
    headers = {**SPARQL_JSON, "Content-Type": "application/sparql-query"}
    wsgi, rsgi = (exchange(server, "POST", "/sparql", headers, b"ASK { ?s ?p ?o }", chunked=True)
                  for server in servers)
    assert rsgi == wsgi and b'"boolean":true' in wsgi[2]


def test_a_document_answered_in_the_event_loop_is_the_one_flask_sends(servers):
    """The second request for a document finds it in memory and is answered by the loop; the
    first was rendered on the pool. Both carry the bytes and headers of the WSGI server."""
    wsgi = exchange(servers[0], "GET", "/doc/event/zhanaozen-shooting-2011-12-16.nt", {}, None)
    first, second = (exchange(servers[1], "GET", "/doc/event/zhanaozen-shooting-2011-12-16.nt", {}, None)
                     for _ in range(2))
    assert wsgi[0] == 200 and first == second == wsgi


def test_a_client_that_leaves_mid_answer_is_no_error(release_dir):
    """A streamed answer whose client has gone ends quietly: nothing to log (granian logs an
    exception out of the app as an error, with its traceback)."""
    server = LiveServer(release_dir, ["--server", "granian-rsgi", "--workers", "1", "--result-bytes", "60000000"])
    try:
        numbers = " ".join(map(str, range(100)))
        query = ("SELECT ?x WHERE { VALUES ?a { " + numbers + " } VALUES ?b { " + numbers + " } "
                 'BIND(CONCAT(STR(?a), "-", STR(?b), "' + "w" * 2000 + '") AS ?x) }')
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
                sock.sendall(f"GET /sparql?query={quote(query)} HTTP/1.1\r\nHost: x\r\n"
                             "Accept: text/tab-separated-values\r\n\r\n".encode())
                assert sock.recv(20).startswith(b"HTTP/1.1 200")
        asked = exchange(server, "GET", "/sparql?query=" + quote("ASK {}"), SPARQL_JSON, None)
        assert asked[0] == 200
    finally:
        server.stop()
    assert server.process.stdout is not None
    log = server.process.stdout.read().decode()
    assert "Traceback" not in log and "ERROR" not in log, log


class _HeldAnswer:
    """A WSGI answer that waits at ``hold`` before its first chunk (``first=False``) or after it
    (``first=True``), then goes on for ever; records its ``close``, as Flask's answer runs its
    teardown there (a query's connection is closed there)."""

    def __init__(self, hold: threading.Event, *, first: bool) -> None:
        self.hold, self.first, self.closed = hold, first, threading.Event()
        self.waiting = threading.Event()  # set once the answer's thread has reached ``hold``
        self.chunks = None

    def __iter__(self):
        self.chunks = self._chunks()
        return self.chunks

    def _chunks(self):
        if self.first:
            yield b"x" * BATCH
        self.waiting.set()
        self.hold.wait(10)
        while True:
            yield b"y" * 1024

    def close(self) -> None:
        if self.chunks is not None:  # as Werkzeug's ClosingIterator closes the view's generator
            self.chunks.close()
        self.closed.set()


class _FakeApp:
    """What the bridge needs of the Flask app: a WSGI callable and the ``kazdata`` extension."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.extensions = {"kazdata": SimpleNamespace(
            settings=SimpleNamespace(threads=2, body_timeout=5, max_body=100), peek=lambda: None)}

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        if not self.answer.first:  # the app itself is slow (a query still running)
            self.answer.waiting.set()
            self.answer.hold.wait(10)
        return self.answer


class _Protocol:
    def response_stream(self, status, headers):
        return SimpleNamespace(send_bytes=self.send_bytes)

    async def send_bytes(self, data):
        pass


@pytest.mark.parametrize("first", [False, True], ids=["while the app runs", "while the answer is read on"])
def test_a_cancelled_request_closes_the_answer_its_thread_was_still_making(first):
    """granian 2.8 does not cancel a request whose client leaves (it goes on to ProtocolClosed),
    but a cancelled request must not drop an answer unclosed when its thread hands it back, nor
    close it from another thread while the first still reads it (a generator then refuses)."""
    hold = threading.Event()
    answer = _HeldAnswer(hold, first=first)
    bridge = RsgiBridge(_FakeApp(answer))
    environ = {"PATH_INFO": "/sparql", "REQUEST_METHOD": "GET"}

    async def cancel_midway() -> None:
        task = asyncio.create_task(bridge.answer(environ, _Protocol()))
        deadline = time.monotonic() + 30
        while not answer.waiting.is_set():  # until the pool's thread is waiting at ``hold``
            assert time.monotonic() < deadline, "the answer's thread never reached hold"
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        hold.set()
        for _ in range(100):
            if answer.closed.is_set():
                return
            await asyncio.sleep(0.05)

    asyncio.run(cancel_midway())
    assert answer.closed.is_set()


def _descriptors(pids) -> int:
    return sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in pids)


def test_clients_that_leave_mid_query_leave_no_connection_open(release_dir):
    """Clients that close their socket while their query runs, or while its answer streams,
    leave the web worker and the query supervisor with the descriptors they had before: each
    thread keeps at most one connection to the supervisor, and the query processes hold none."""
    threads = 2
    server = LiveServer(release_dir, ["--server", "granian-rsgi", "--workers", "1", "--threads", str(threads),
                                      "--queries-per-client", "0", "--query-processes", "2"])
    numbers = " ".join(map(str, range(100)))
    streamed = ("SELECT ?x WHERE { VALUES ?a { " + numbers + " } VALUES ?b { " + numbers + " } "
                'BIND(CONCAT(STR(?a), "-", STR(?b), "' + "w" * 200 + '") AS ?x) }')  # 2 MB, relayed
    slow = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
        f"VALUES ?v{i} {{ {' '.join(map(str, range(12)))} }}" for i in range(6)) + " }"  # 3 million rows
    try:
        for _ in range(threads * 2):  # every thread has made (and keeps) its connection
            assert exchange(server, "GET", "/sparql?query=" + quote(streamed), {"Accept": "text/csv"}, None)[0] == 200
        processes = server.processes()
        worker, supervisor = processes["workers"], [processes["supervisor"]]
        before = _descriptors(worker), _descriptors(supervisor)
        for query in (slow, streamed) * 6:
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
                sock.sendall(f"GET /sparql?query={quote(query)} HTTP/1.1\r\nHost: x\r\n"
                             "Accept: text/tab-separated-values\r\n\r\n".encode())
                if query is streamed:
                    assert sock.recv(20).startswith(b"HTTP/1.1 200")  # then left mid-answer
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset
        asked = exchange(server, "GET", "/sparql?query=" + quote("ASK {}"), SPARQL_JSON, None)
        assert asked[0] == 200 and b"true" in asked[2]
        # the abandoned queries run to their end; then each side is back where it was, give or
        # take the one connection each thread keeps (a leak would be one per abandoned request)
        wait_until(lambda: _descriptors(worker) <= before[0] + threads and
                   _descriptors(supervisor) <= before[1] + threads, 60,
                   f"descriptors back to {before} (+{threads} kept)")
    finally:
        server.stop()


@pytest.mark.parametrize(("method", "range_header", "sent"), [
    ("GET", None, "whole"), ("GET", "bytes=10-19", (10, 20)), ("GET", "bytes=-5", "last 5"),
    ("HEAD", "bytes=10-19", None), ("GET", "bytes=99999999-", None)])
def test_a_dump_and_a_range_of_it_go_to_granian_as_the_file_on_disk(app, release_dir, method, range_header, sent):
    """The bridge hands granian the file and the byte range (``response_file_range``) rather than
    reading it in Python; a HEAD's 206 and a 416 have no file to send."""
    environ = EnvironBuilder(path="/dumps/kazdata.nt", method=method,
                             headers={"Range": range_header} if range_header else {}).get_environ()
    environ["wsgi.file_wrapper"] = FilesWrapped()
    reply = call_app(app, environ)
    dump = release_dir / "dumps" / "kazdata.nt"
    size = dump.stat().st_size
    expected = {"whole": (None, None), "last 5": (size - 5, size), None: None}.get(sent, sent)
    got = None if reply.file is None else reply.file[1:]
    assert got == expected
    if reply.file is not None:
        assert Path(reply.file[0]).resolve() == dump.resolve()
    else:
        reply.close()
