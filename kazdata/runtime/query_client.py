"""Query processes, the web worker's side: a query sent to a process that can be killed.

pyoxigraph cannot interrupt a query, and a Python thread cannot be killed, so a runaway query in
a web worker burns a core until the worker itself is replaced. ``kazdata serve`` therefore
evaluates SPARQL in query processes that its query supervisor forks before the HTTP server
(``kazdata.runtime.supervisor``, docs/decisions/004). Here is how a web worker uses them:

- it connects to their Unix socket; the query process that accepts sends its pid first, so that
  the web worker waiting for the answer can SIGKILL it at the time limit: the CPU is free at
  once and the web worker is untouched. The process holds the connection until the web worker
  closes it, so that pid means this query for as long as the web worker may kill it;
- a query still running after ``HEAVY_AFTER`` seconds is moved to the lowest CPU priority by the
  web worker (``renice``), so dereferencing and cheap queries keep their latency beside it.

Messages are length-prefixed pickles between processes of the same server and user; nothing
from a client is unpickled (the query text travels inside a ``QueryRequest``).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import socket
import struct
import threading
import time

from kazdata.errors import BackendUnavailable, BadRequest, QueryTimeout
from kazdata.sparql.policy import QueryRequest, QueryResult, timeout_message

#: Niceness of a query that has run longer than ``HEAVY_AFTER`` seconds (the web worker renices it).
HEAVY_NICENESS = 19
HEAVY_AFTER = 0.2
#: How long a web worker may take to read an answer once the query has finished.
TRANSFER_TIMEOUT = 60.0
#: the errors a query process reports (by name) rather than dying of
REPLY_STATUS = {BadRequest: "bad-request", BackendUnavailable: "unavailable"}
_LENGTH = struct.Struct("!Q")
PID_HEADER = struct.Struct("!I")


def send_message(sock: socket.socket, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive_message(sock: socket.socket) -> object | None:
    header = _receive_exactly(sock, _LENGTH.size)
    if header is None:
        return None
    data = _receive_exactly(sock, _LENGTH.unpack(header)[0])
    return None if data is None else pickle.loads(data)


# --- the web worker's side ---------------------------------------------------------------------

class ProcessBackend:
    """A web worker's handle on the query processes: one connection per query.

    ``operator_timeout`` is the operator's limit: a client that asked for less gets its 503 at
    its own timeout, but the query process is killed only once the operator's limit is reached,
    so a tiny client timeout cannot make the server kill and replace query processes.
    """

    def __init__(self, socket_path: str, operator_timeout: float) -> None:
        self.socket_path = socket_path
        self.operator_timeout = operator_timeout

    def query(self, request: QueryRequest, *, limit: int, timeout: float) -> QueryResult:
        started = time.monotonic()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        handed_over = False
        try:
            sock.settimeout(timeout)
            try:
                sock.connect(self.socket_path)
                header = _receive_exactly(sock, PID_HEADER.size)  # waits for a free query process
            except TimeoutError:
                raise QueryTimeout(timeout_message(timeout)) from None
            except OSError as error:
                raise BackendUnavailable(f"the query processes cannot be reached ({error.strerror or error}); "
                                         "try again in a moment") from None
            if header is None:
                raise BackendUnavailable("a query process closed the connection; try again in a moment")
            pid = PID_HEADER.unpack(header)[0]
            try:
                send_message(sock, (request, limit))
            except OSError:  # it died (killed, out of memory) between its pid and our query
                raise BackendUnavailable("a query process closed the connection; try again in a moment") from None
            sent = time.monotonic()
            # a client timeout shorter than HEAVY_AFTER gets its 503 at its own timeout; the
            # query is moved down only once it has really run HEAVY_AFTER (a moved-down process
            # is replaced after answering, which a tiny client timeout must not cause)
            if not _wait_readable(sock, min(HEAVY_AFTER, started + timeout - sent)):
                if time.monotonic() - sent >= HEAVY_AFTER:
                    _renice(pid, HEAVY_NICENESS)
                if not _wait_readable(sock, started + timeout - time.monotonic()):
                    handed_over = self._stop_later(sock, pid, sent + HEAVY_AFTER, started + self.operator_timeout)
                    raise QueryTimeout(timeout_message(timeout))
            sock.settimeout(TRANSFER_TIMEOUT)
            try:
                reply = receive_message(sock)
            except OSError as error:
                raise BackendUnavailable(f"the query process failed while answering ({error})") from None
        finally:
            if not handed_over:
                sock.close()
        if reply is None:
            raise BackendUnavailable("the query process ended without answering (it may have run out of "
                                     "memory); try a smaller query")
        status, payload = reply
        if status == "ok":
            return payload
        raise {name: error for error, name in REPLY_STATUS.items()}[status](payload)

    @staticmethod
    def _stop_later(sock: socket.socket, pid: int, heavy_at: float, deadline: float) -> bool:
        """Move the query process down at ``heavy_at`` and kill it at ``deadline`` unless it
        answers first; returns whether the socket was handed to a watcher thread (which then
        closes it)."""
        if deadline <= time.monotonic():
            kill_process(pid)
            return False

        def watch() -> None:
            try:
                if heavy_at > time.monotonic() and _wait_readable(sock, heavy_at - time.monotonic()):
                    return
                _renice(pid, HEAVY_NICENESS)
                if not _wait_readable(sock, deadline - time.monotonic()):
                    kill_process(pid)
            finally:
                sock.close()

        threading.Thread(target=watch, name="query-watchdog", daemon=True).start()
        return True


def _wait_readable(sock: socket.socket, seconds: float) -> bool:
    """poll, not select: a gthread worker holding many keep-alive connections has descriptors
    past select's FD_SETSIZE (1024), where select raises ValueError."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(max(0.0, seconds) * 1000))


def _renice(pid: int, niceness: int) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    except OSError:
        pass  # it has just ended


def kill_process(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def name_process(name: str) -> None:
    """Name this process in ``ps``, ``top`` and /proc/PID/comm (Linux; at most 15 characters),
    so an operator can tell the query processes from the web workers. Elsewhere: nothing."""
    try:
        with open(f"/proc/{os.getpid()}/comm", "w", encoding="ascii") as comm:
            comm.write(name[:15])
    except OSError:
        pass
