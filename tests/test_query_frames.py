"""A web worker reads a query process's answer with as few reads as it arrived in
(``kazdata.runtime.query_frames.receive_frame_and_more``, issue 20's CPU per request): these
check, against a fake query process that writes what the test chose, that nothing is lost or
taken for the next answer on the way, and that the client's timeout still holds."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from kazdata.errors import QueryTimeout
from kazdata.runtime.query_client import PIECE_BYTES, ProcessBackend
from kazdata.runtime.query_frames import frame, read_ticket, receive_frame
from kazdata.sparql.policy import QueryRequest

ASK = QueryRequest("ASK {}")


class FakeQueryProcess:
    """A Unix socket answering each query, on each connection, with the next of ``replies``
    (bytes written in one write as they are), or with nothing at all for ``None``."""

    def __init__(self, path: str, replies: list[bytes | None]) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(8)
        self.replies = replies
        self.connections = 0
        self.queries: list[tuple] = []
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        self.held.append(connection)
        try:
            while self.replies:
                while read_ticket(connection) is None:
                    time.sleep(0.005)
                self.queries.append(receive_frame(connection))  # type: ignore[arg-type]
                reply = self.replies.pop(0)
                if reply is None:
                    return  # never answers; the connection stays open
                connection.sendall(reply)
        except (EOFError, OSError):
            pass  # the web worker closed this connection, or the test is over

    def __enter__(self) -> FakeQueryProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


def _answer(body: bytes) -> bytes:
    """What a query process writes for a JSON answer of ``body``: its header frame, then the bytes."""
    return frame(("ok", "srj", False, len(body), False)) + body


@pytest.fixture()
def socket_path(tmp_path):
    return str(tmp_path / "query.sock")


def test_a_long_answer_is_relayed_from_its_first_byte(socket_path):
    """The first read takes the header and the start of the body: a relayed answer must begin
    with those bytes, not with what the next read brings."""
    body = os.urandom(3 * PIECE_BYTES + 123)
    with FakeQueryProcess(socket_path, [_answer(body)]):
        answer = ProcessBackend(socket_path).query(ASK, limit=10, timeout=5.0)
        assert answer.length == len(body)
        assert b"".join(answer.pieces) == body


def test_a_short_answer_is_read_whole_and_its_connection_kept_for_the_next(socket_path):
    first, second = b'{"head":{},"boolean":true}', b'{"head":{},"boolean":false}'
    with FakeQueryProcess(socket_path, [_answer(first), _answer(second)]) as fake:
        backend = ProcessBackend(socket_path)
        assert backend.query(ASK, limit=10, timeout=5.0).read() == first
        assert backend.query(ASK, limit=10, timeout=5.0).read() == second
        assert fake.connections == 1


def test_bytes_behind_an_answer_are_never_read_as_the_next_answer(socket_path):
    """Something written behind a whole answer (a supervisor's crash report for a query process
    that died after answering) arrives in the same read: the answer is cut at its length, and
    the connection is not kept, so the thread's next query does not read that as its reply."""
    body = b'{"head":{},"boolean":true}'
    stray = frame(("unavailable", "the query process crashed (SIGKILL) while evaluating this query"))
    with FakeQueryProcess(socket_path, [_answer(body) + stray, _answer(body)]) as fake:
        backend = ProcessBackend(socket_path)
        assert backend.query(ASK, limit=10, timeout=5.0).read() == body
        assert backend.query(ASK, limit=10, timeout=5.0).read() == body
        assert fake.connections == 2


def test_no_answer_is_a_timeout_at_the_clients_timeout(socket_path):
    """The wait for the answer is bounded by the client's timeout (the socket's receive timeout),
    not by the 60 s a transfer may take once it has begun."""
    with FakeQueryProcess(socket_path, [None]) as fake:
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            ProcessBackend(socket_path).query(ASK, limit=10, timeout=0.5)
        waited = time.monotonic() - started
        assert fake.queries, "the query reached the fake query process"
        assert 0.5 <= waited < 10, waited


def test_bytes_behind_a_relayed_answer_are_not_relayed(socket_path):
    """The same behind an answer just past ``PIECE_BYTES``, which is relayed: the first read
    holds all of it and the stray frame; the client gets exactly the answer's bytes."""
    body = os.urandom(PIECE_BYTES + 10)
    stray = frame(("unavailable", "the query process crashed (SIGKILL) while evaluating this query"))
    with FakeQueryProcess(socket_path, [_answer(body) + stray]):
        answer = ProcessBackend(socket_path).query(ASK, limit=10, timeout=5.0)
        assert answer.length == len(body)
        assert b"".join(answer.pieces) == body
