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

The messages and how each side reads them are ``kazdata.runtime.query_frames``.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator

from kazdata.errors import BackendUnavailable, BadRequest, Forbidden, QueryTimeout, TooManyRequests

# also imported from here: the tests' fake supervisors speak the same messages
from kazdata.runtime.query_frames import (  # noqa: F401
    FIRST_READ,
    PIECE_BYTES,
    Ticket,
    frame,
    read_exactly,
    read_ticket,
    receive_frame,
    receive_frame_and_more,
    send_frame,
    send_query,
)
from kazdata.sparql.answers import ANSWER_FORMATS, Answer
from kazdata.sparql.policy import QueryRequest, timeout_message
from kazdata.sparql.query_check import CACHED_QUERIES, CACHED_QUERY_CHARACTERS

#: How long a web worker may take to read an answer once it has begun to arrive.
TRANSFER_TIMEOUT = 60.0
#: the errors a query process reports (by name) rather than dying of
REPLY_STATUS = {BadRequest: "bad-request", Forbidden: "forbidden", BackendUnavailable: "unavailable"}


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
            reply, early = _receive(connection, give_up_at, timeout)
            status = reply[0]
            if status == "ok":
                _status, extension, truncated, length, uses_from = reply
                self._remember(request.text, uses_from)
                fmt = ANSWER_FORMATS[extension]
                if length > PIECE_BYTES:
                    to_close = None  # the relay closes it
                    return Answer(fmt, _relay(connection, length, early), length, truncated)
                answer = Answer.whole(fmt, early[:length] + _body(connection, length - len(early)), truncated)
                if len(early) <= length:  # else something followed the answer: not kept
                    kept, to_close = connection, None
                return answer
            if status == "error":
                if not isinstance(reply[1], TooManyRequests) and not early:  # the supervisor closes after a refusal
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
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _TRANSFER_TIMEVAL)
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


_TRANSFER_TIMEVAL = _timeval(TRANSFER_TIMEOUT)


def _body(sock: socket.socket, length: int) -> bytes:
    if length <= 0:
        return b""
    try:
        return read_exactly(sock, length)
    except (EOFError, OSError):
        raise BackendUnavailable("the query process ended while sending its answer (killed at the time "
                                 "limit, or crashed); try again, or a smaller query") from None


def _relay(sock: socket.socket, length: int, early: bytes = b"") -> Iterator[bytes]:
    """The answer's bytes as they arrive (``early``: those read with its header). An answer
    that stops short raises, which aborts the HTTP response (the client sees it cut, not
    complete): its query process was killed at the time limit, which counts to the last byte."""
    try:
        early = early[:length]  # what came behind the answer is not the client's (the relay closes it)
        if early:
            yield early
        left = length - len(early)
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


def _receive(sock: socket.socket, give_up_at: float, timeout: float) -> tuple[tuple, bytes]:
    """The query process's reply header and the start of the body read with it, waiting until
    ``give_up_at``: the socket's receive timeout bounds the first read (one system call, where a
    poll and then a read were two; neither select's FD_SETSIZE nor a thread's GIL is involved),
    the transfer timeout what follows. An end before any reply raises ``_Closed``: the supervisor
    closed the connection without handing it on (else it reports how its query process ended)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(give_up_at - time.monotonic()))
        try:
            first = sock.recv(FIRST_READ)
        except BlockingIOError:  # the receive timeout ran out
            raise QueryTimeout(timeout_message(timeout)) from None  # it goes on until the operator's limit
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _TRANSFER_TIMEVAL)
        reply, early = receive_frame_and_more(sock, first)
        assert isinstance(reply, tuple)
        return reply, early
    except (EOFError, ConnectionResetError):
        # the supervisor kills at the operator's limit, never before this worker's own timeout
        if time.monotonic() >= give_up_at:
            raise QueryTimeout(timeout_message(timeout)) from None
        raise _Closed from None
    except BlockingIOError:
        raise BackendUnavailable(f"the query process did not finish its answer within {TRANSFER_TIMEOUT:g} s") from None
    except OSError as error:
        raise BackendUnavailable(f"the query process failed while answering ({error})") from None
