"""Query processes, the web worker's side: send a query, wait at most the client's timeout.

pyoxigraph cannot interrupt a query, and a Python thread cannot be killed, so a runaway query in
a web worker would burn a core until the worker itself is replaced. ``kazdata serve`` therefore
evaluates SPARQL in query processes that its query supervisor forks and owns
(``kazdata.runtime.supervisor``, docs/decisions/004). A web worker only writes to the
supervisor's Unix socket, on a connection its thread keeps between queries or a new one: a
``Ticket`` (the client's address, when it gives up, the digest of the query's text) and
``(query, limit, when it gives up)``, then waits. The supervisor reads the ticket, refuses a
client past ``--queries-per-client`` (``kazdata.sparql.fair_share``) or hands the connection to
an idle query process, with the query check's verdict when one of its processes reached it for
that text (``kazdata.runtime.verdicts``), and it alone
renices and kills that process at the time limit. So a web worker never signals anything, and
giving up is closing a socket.

Messages are length-prefixed pickles (the framing of ``multiprocessing.connection``) between
processes of the same server and user (the supervisor checks the peer's uid); nothing from a
client is unpickled (the query text travels inside a ``QueryRequest``). The answer's body follows
its header frame as raw bytes, already written in the client's format by the query process
(``kazdata.sparql.answers``): a web worker only relays them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import select
import signal
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import NamedTuple

from kazdata.errors import BackendUnavailable, BadRequest, Forbidden, QueryTimeout, TooManyRequests
from kazdata.runtime.verdicts import DIGEST_BYTES, NO_DIGEST, digest
from kazdata.sparql.answers import ANSWER_FORMATS, Answer
from kazdata.sparql.policy import QueryRequest, timeout_message
from kazdata.sparql.query_check import CACHED_QUERIES, CACHED_QUERY_CHARACTERS

#: How long a web worker may take to read an answer once it has begun to arrive.
TRANSFER_TIMEOUT = 60.0
#: the errors a query process reports (by name) rather than dying of
REPLY_STATUS = {BadRequest: "bad-request", Forbidden: "forbidden", BackendUnavailable: "unavailable"}


log = logging.getLogger("kazdata.query")
#: a frame's length, before its pickle (the framing of ``multiprocessing.connection``)
_LENGTH = struct.Struct("!i")
#: an answer up to this size is read whole before the response starts; a longer one is
#: relayed in pieces of this size as it arrives
PIECE_BYTES = 64 * 1024


#: a ticket's fixed part: when its web worker gives up, the digest of the query's text, then the
#: length of the client's address (its UTF-8 bytes follow). Packed, not pickled: the supervisor
#: reads one per query, and a pickled tuple cost 5 us more per hand-off to write and read (2026-12-03)
_TICKET = struct.Struct(f"!d{DIGEST_BYTES}sB")


class Ticket(NamedTuple):
    """What the supervisor reads of a query before handing it on: whose it is (the client's
    address, at most 255 bytes), when its web worker stops waiting (``time.monotonic``, one
    clock for every process of the machine) and the digest of its text, for the query check's
    verdict the supervisor may know (``kazdata.runtime.verdicts``; ``NO_DIGEST`` when the web
    worker knows it itself)."""

    client: str
    give_up_at: float
    digest: bytes = NO_DIGEST

    def encode(self) -> bytes:
        address = self.client.encode()[:255]
        return _TICKET.pack(self.give_up_at, self.digest, len(address)) + address


def frame(message: object) -> bytes:
    """``message`` as one frame: its pickle's length, then the pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def send_frame(sock: socket.socket, message: object) -> None:
    sock.sendall(frame(message))


def send_query(sock: socket.socket, request: QueryRequest, limit: int, give_up_at: float) -> None:
    """A web worker's query as the supervisor reads it, on a new or a kept connection alike: the
    ``Ticket`` then the frame ``(request, limit, give_up_at)``, in one write (so the supervisor
    finds the query behind its ticket, and wakes once)."""
    known = request.checked_uses_from is not None
    ticket = Ticket(request.client, give_up_at, NO_DIGEST if known else digest(request.text))
    sock.sendall(ticket.encode() + frame((request, limit, give_up_at)))


def read_ticket(sock: socket.socket) -> Ticket | None:
    """The ticket at the head of ``sock``, taken off it, once all of it and the start of the
    query behind it have arrived; None if not yet (never waits: the supervisor's loop serves
    every worker). The query is left for the query process; waiting for its first byte means a
    connection is handed on only with its query there, so a query process that dies with the
    connection in hand and its query unread has surely not run it (``has_unread``). Raises
    EOFError if the connection ended first."""
    try:
        head = sock.recv(_TICKET.size + 256, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return None
    if not head:
        raise EOFError
    if len(head) <= _TICKET.size or len(head) <= _TICKET.size + head[_TICKET.size - 1]:
        return None
    give_up_at, text_digest, length = _TICKET.unpack_from(head)
    sock.recv(_TICKET.size + length, socket.MSG_DONTWAIT)  # all there: the peek saw it
    return Ticket(head[_TICKET.size:_TICKET.size + length].decode(errors="replace"), give_up_at, text_digest)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    """``size`` bytes; EOFError if the connection ends first."""
    data = sock.recv(size, socket.MSG_WAITALL)
    while len(data) < size:
        more = sock.recv(size - len(data), socket.MSG_WAITALL)
        if not more:
            raise EOFError
        data += more
    if not data and size:
        raise EOFError
    return data


def receive_frame(sock: socket.socket) -> object:
    (size,) = _LENGTH.unpack(_read_exactly(sock, _LENGTH.size))
    return pickle.loads(_read_exactly(sock, size))


def has_unread(connection: socket.socket) -> bool:
    """True if the web worker's query is still waiting in ``connection``, unread."""
    try:
        return bool(connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:
        return False


def report_crash(client: socket.socket, pid: int, status: int | None) -> None:
    """The supervisor's word to the web worker whose query process died while holding its query:
    a reply frame saying how (a crash is reported as one, not as a time limit or memory).
    Sent without waiting: the reply buffer is empty, and a full one just drops the report."""
    if status is not None and os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        how = f"crashed ({signal.Signals(number).name if number in signal.valid_signals() else number})"
    elif status is not None and os.WIFEXITED(status):
        how = f"exited with status {os.WEXITSTATUS(status)}"
    else:
        how = "ended"
    log.error("query process %s %s while evaluating a query", pid, how)
    hint = (" (past its memory limit, the engine aborts this way)" if "SIGABRT" in how else
            "; the crash was logged: please report the query")
    frame = pickle.dumps(("unavailable", f"the query process {how} while evaluating this query{hint}"))
    try:
        client.setblocking(False)
        client.send(_LENGTH.pack(len(frame)) + frame)
    except OSError:
        pass  # the web worker is gone, or not reading: it sees the connection close


def _unreachable(error: OSError) -> BackendUnavailable:
    return BackendUnavailable(f"the query processes cannot be reached ({error.strerror or error}); "
                              "try again in a moment")


class _Closed(Exception):
    """A connection ended before any reply came: the supervisor closes the connections it holds
    unhanded when it drains (a release switch) or ends, so the query is sent again on a new one."""


class _Kept:
    """A thread's connection to the query supervisor, kept for its next query.

    It remembers the process that opened it: a process forked while a thread held one has a copy
    of the same connection, and two processes writing on one connection would mix their frames,
    so a copy is only ever closed. It closes the connection when it is dropped (its thread ended,
    or its backend was replaced at a release switch)."""

    __slots__ = ("pid", "sock", "send_timeout")

    def __init__(self, sock: socket.socket, send_timeout: float) -> None:
        self.sock: socket.socket | None = sock
        self.pid = os.getpid()
        self.send_timeout = send_timeout

    def take(self, send_timeout: float) -> socket.socket | None:
        """The connection, for this process's next query (None in a forked copy, which is closed)."""
        sock, self.sock = self.sock, None
        if sock is not None and self.pid != os.getpid():
            sock.close()
            return None
        if sock is not None and send_timeout != self.send_timeout:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(send_timeout))
        return sock

    def __del__(self) -> None:
        if self.sock is not None:
            self.sock.close()


class ProcessBackend:
    """A web worker's handle on the query processes: one connection per thread, kept between
    queries (a connect costs the supervisor an accept and a peer check, about 75 µs a query).

    A client that asked for a shorter timeout than the operator's gets its 503 at its own
    timeout; its query process is still killed only at the operator's limit, by the supervisor,
    so a tiny client timeout cannot make the server kill and replace query processes.

    The answer comes as a header frame, ``("ok", format, truncated, length, uses FROM)`` or an
    error, then ``length`` bytes already written in the client's format: an answer up to
    ``PIECE_BYTES`` is read at once, a longer one is relayed piece by piece while the response is
    sent, so a web worker never holds more than a piece of it. The query process holds its
    connection (and is killed at the time limit) until the last byte is taken.

    A connection is kept only once its answer (or its error) was read whole, so one left in
    any other state (a timeout, a relayed answer, a failure or an interruption while reading)
    is closed, never reused. A kept connection that the supervisor has closed meanwhile (a
    release switch) is noticed before any reply byte, and the query is sent once more on a new
    connection; it cannot have run, since the supervisor closes only connections it holds idle.
    """

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        #: query text -> whether it uses FROM, for texts a query process checked and passed: sent
        #: with the text again, the check (an rdflib parse of milliseconds) is not repeated. One
        #: backend serves one release, so its rules never change under these verdicts.
        self.passed: dict[str, bool] = {}
        self._threads = threading.local()  # .kept: the thread's _Kept, or None

    def query(self, request: QueryRequest, *, limit: int, timeout: float) -> Answer:
        """Evaluate in a query process. Raises QueryTimeout past ``timeout``, BadRequest for a
        query the store rejects, BackendUnavailable when no query process can answer."""
        give_up_at = time.monotonic() + timeout
        checked = self.passed.get(request.text)
        if checked is not None:
            request = dataclasses.replace(request, checked_uses_from=checked)
        kept: _Kept | None = getattr(self._threads, "kept", None)
        self._threads.kept = None  # kept again only once an answer was read whole
        taken = kept.take(timeout) if kept is not None else None
        # the kept connection, then new ones: a connection the supervisor closed before any reply
        # (a drain) ran nothing, so the query is sent once more
        for connection in ([taken] if taken is not None else []) + [None, None]:
            try:
                return self._ask(connection or self._connect(timeout), request, limit, give_up_at, timeout)
            except _Closed:
                continue
        raise BackendUnavailable("the query process ended without answering (its supervisor said nothing "
                                 "of how); try again, or a smaller query")

    def _ask(self, connection: socket.socket, request: QueryRequest, limit: int, give_up_at: float,
             timeout: float) -> Answer:
        """Send the query on ``connection``, its ticket first, and read the reply; the connection
        is kept for the thread's next query if the reply was read whole, else closed (or handed
        to the relay, which closes it). A refusal (``TooManyRequests``, from the supervisor) is
        read whole too, but the supervisor closes the connection after it: it is not kept."""
        to_close: socket.socket | None = connection
        kept: socket.socket | None = None
        try:
            try:
                send_query(connection, request, limit, give_up_at)
            except BlockingIOError:  # every query process busy, and the query is larger than a socket buffer
                raise QueryTimeout(timeout_message(timeout)) from None
            except OSError:
                _raise_refusal(connection)  # the supervisor read the ticket, refused and closed
                raise _Closed from None
            reply = _receive(connection, give_up_at, timeout)
            status = reply[0]
            if status == "ok":
                _status, extension, truncated, length, uses_from = reply
                self._remember(request.text, uses_from)
                fmt = ANSWER_FORMATS[extension]
                if length > PIECE_BYTES:
                    to_close = None  # the relay closes it
                    return Answer(fmt, _relay(connection, length), length, truncated)
                answer = Answer.whole(fmt, _body(connection, length), truncated)
                kept, to_close = connection, None
                return answer
            if status == "error":
                if not isinstance(reply[1], TooManyRequests):  # the supervisor closes after a refusal
                    kept, to_close = connection, None  # the error frame was read whole
                error = reply[1]
                del reply
                try:
                    raise error
                finally:  # an error a frame still holds is in a cycle through its traceback (``detached``)
                    del error
            raise {name: error for error, name in REPLY_STATUS.items()}[status](reply[1])
        finally:
            if kept is not None:
                self._threads.kept = _Kept(kept, timeout)
            elif to_close is not None:
                to_close.close()

    def _remember(self, text: str, uses_from: bool) -> None:
        if len(text) <= CACHED_QUERY_CHARACTERS and text not in self.passed:
            if len(self.passed) >= CACHED_QUERIES:
                self.passed.clear()
            self.passed[text] = uses_from

    def _connect(self, timeout: float) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # blocking, with the kernel's timeouts, so neither a full backlog (connect waits
            # for the send timeout), a full socket buffer nor a stalled answer waits for ever;
            # set before connecting, so that the query follows the connection at once: the
            # supervisor reads its ticket as it accepts, and one not there yet costs it a wake-up
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(timeout))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(TRANSFER_TIMEOUT))
            sock.connect(self.socket_path)
        except (TimeoutError, BlockingIOError):
            sock.close()
            raise QueryTimeout(timeout_message(timeout)) from None
        except OSError as error:
            sock.close()
            raise _unreachable(error) from None
        return sock


def _raise_refusal(sock: socket.socket) -> None:
    """Raise the error the supervisor sent before closing the connection, if it did."""
    try:
        poller = select.poll()  # not select: a descriptor may be past FD_SETSIZE (``_receive``)
        poller.register(sock, select.POLLIN)
        if poller.poll(0):
            reply = receive_frame(sock)
            if isinstance(reply, tuple) and reply[0] == "error" and isinstance(reply[1], Exception):
                error = reply[1]
                del reply
                try:
                    raise error
                finally:  # no cycle, as in ``_ask``
                    del error
    except (OSError, EOFError, pickle.UnpicklingError):
        pass


def _timeval(seconds: float) -> bytes:
    seconds = max(seconds, 1e-6)  # a zero timeval means no limit at all
    return struct.pack("ll", int(seconds), int(seconds % 1 * 1e6))


def _body(sock: socket.socket, length: int) -> bytes:
    try:
        return _read_exactly(sock, length)
    except (EOFError, OSError):
        raise BackendUnavailable("the query process ended while sending its answer (killed at the time "
                                 "limit, or crashed); try again, or a smaller query") from None


def _relay(sock: socket.socket, length: int) -> Iterator[bytes]:
    """The answer's bytes as they arrive. An answer that stops short raises, which aborts the
    HTTP response (the client sees it cut, not complete): its query process was killed at the
    time limit, which counts to the last byte."""
    try:
        left = length
        while left:
            piece = sock.recv(min(left, PIECE_BYTES))
            if not piece:
                raise BackendUnavailable("the query process stopped sending its answer (killed at the time limit)")
            left -= len(piece)
            yield piece
    except OSError as error:
        raise BackendUnavailable(f"the query process failed while sending its answer ({error})") from None
    finally:
        sock.close()


def _receive(sock: socket.socket, give_up_at: float, timeout: float) -> tuple:
    """The query process's reply header, waiting until ``give_up_at`` (poll: a gthread worker
    holding many keep-alive connections has descriptors past select's FD_SETSIZE). An end before
    any reply raises ``_Closed``: the supervisor closed the connection without handing it on
    (else it reports how its query process ended)."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(max(0.0, give_up_at - time.monotonic()) * 1000):
            raise QueryTimeout(timeout_message(timeout))  # it goes on until the operator's limit
        reply = receive_frame(sock)
        assert isinstance(reply, tuple)
        return reply
    except (EOFError, ConnectionResetError):
        # the supervisor kills at the operator's limit, never before this worker's own timeout
        if time.monotonic() >= give_up_at:
            raise QueryTimeout(timeout_message(timeout)) from None
        raise _Closed from None
    except BlockingIOError:
        raise BackendUnavailable(f"the query process did not finish its answer within {TRANSFER_TIMEOUT:g} s") from None
    except OSError as error:
        raise BackendUnavailable(f"the query process failed while answering ({error})") from None
