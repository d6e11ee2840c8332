"""Query processes, the web worker's side: send a query, wait at most the client's timeout.

pyoxigraph cannot interrupt a query, and a Python thread cannot be killed, so a runaway query in
a web worker would burn a core until the worker itself is replaced. ``kazdata serve`` therefore
evaluates SPARQL in query processes that its query supervisor forks and owns
(``kazdata.runtime.supervisor``, docs/decisions/004). A web worker only connects to the
supervisor's Unix socket, sends ``(query, limit, when it gives up)`` and waits: the supervisor
hands the connection to an idle query process, and it alone renices and kills that process at
the time limit. So a web worker never signals anything, and giving up is closing a socket.

Messages are ``multiprocessing.connection`` frames (pickles) between processes of the same
server and user (the supervisor checks the peer's uid); nothing from a client is unpickled
(the query text travels inside a ``QueryRequest``).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import struct
import time
from multiprocessing.connection import Connection

from kazdata.errors import BackendUnavailable, BadRequest, Forbidden, QueryTimeout
from kazdata.sparql.policy import QueryRequest, QueryResult, timeout_message

#: How long a web worker may take to read an answer once it has begun to arrive.
TRANSFER_TIMEOUT = 60.0
#: the errors a query process reports (by name) rather than dying of
REPLY_STATUS = {BadRequest: "bad-request", Forbidden: "forbidden", BackendUnavailable: "unavailable"}


log = logging.getLogger("kazdata.query")


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
        client.send(struct.pack("!i", len(frame)) + frame)
    except OSError:
        pass  # the web worker is gone, or not reading: it sees the connection close


def _unreachable(error: OSError) -> BackendUnavailable:
    return BackendUnavailable(f"the query processes cannot be reached ({error.strerror or error}); "
                              "try again in a moment")


class ProcessBackend:
    """A web worker's handle on the query processes: one connection per query.

    A client that asked for a shorter timeout than the operator's gets its 503 at its own
    timeout; its query process is still killed only at the operator's limit, by the supervisor,
    so a tiny client timeout cannot make the server kill and replace query processes.
    """

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path

    def query(self, request: QueryRequest, *, limit: int, timeout: float) -> QueryResult:
        """Evaluate in a query process. Raises QueryTimeout past ``timeout``, BadRequest for a
        query the store rejects, BackendUnavailable when no query process can answer."""
        give_up_at = time.monotonic() + timeout
        with self._connect(timeout) as connection:
            try:
                connection.send((request, limit, give_up_at))
            except BlockingIOError:  # every query process busy, and the query is larger than a socket buffer
                raise QueryTimeout(timeout_message(timeout)) from None
            except OSError as error:
                raise _unreachable(error) from None
            reply = _receive(connection, give_up_at, timeout)
        status, payload = reply
        if status == "ok":
            return payload
        raise {name: error for error, name in REPLY_STATUS.items()}[status](payload)

    def _connect(self, timeout: float) -> Connection:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)  # a full backlog makes connect wait
            sock.connect(self.socket_path)
            # Connection writes and reads the descriptor as it is: blocking, with the kernel's
            # timeouts, so neither a full socket buffer nor a stalled answer waits for ever
            sock.setblocking(True)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(timeout))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(TRANSFER_TIMEOUT))
        except TimeoutError:
            sock.close()
            raise QueryTimeout(timeout_message(timeout)) from None
        except OSError as error:
            sock.close()
            raise _unreachable(error) from None
        return Connection(sock.detach())


def _timeval(seconds: float) -> bytes:
    seconds = max(seconds, 1e-6)  # a zero timeval means no limit at all
    return struct.pack("ll", int(seconds), int(seconds % 1 * 1e6))


def _receive(connection: Connection, give_up_at: float, timeout: float) -> tuple:
    """The query process's reply, waiting until ``give_up_at`` (poll: a gthread worker holding
    many keep-alive connections has descriptors past select's FD_SETSIZE)."""
    try:
        if not connection.poll(max(0.0, give_up_at - time.monotonic())):
            raise QueryTimeout(timeout_message(timeout))  # it goes on until the operator's limit
        return connection.recv()
    except EOFError:
        # the supervisor kills at the operator's limit, never before this worker's own timeout:
        # an end seen before it is the process dying (out of memory, killed by hand)
        if time.monotonic() >= give_up_at:
            raise QueryTimeout(timeout_message(timeout)) from None
        raise BackendUnavailable("the query process ended without answering (its supervisor said "
                                 "nothing of how); try again, or a smaller query") from None
    except BlockingIOError:
        raise BackendUnavailable(f"the query process did not finish its answer within {TRANSFER_TIMEOUT:g} s") from None
    except OSError as error:
        raise BackendUnavailable(f"the query process failed while answering ({error})") from None
