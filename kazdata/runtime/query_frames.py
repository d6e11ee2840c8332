"""The messages between web workers, the query supervisor and query processes, and how each
side reads them (``kazdata.runtime.query_client`` sends, ``kazdata.runtime.supervisor`` and
``kazdata.runtime.query_intake`` read tickets, ``kazdata.runtime.query_process`` answers).

Messages are length-prefixed pickles (the framing of ``multiprocessing.connection``) between
processes of the same server and user (the supervisor checks the peer's uid); nothing from a
client is unpickled (the query text travels inside a ``QueryRequest``). The answer's body follows
its header frame as raw bytes, already written in the client's format by the query process
(``kazdata.sparql.answers``): a web worker only relays them. Each side reads a message with as
few system calls as it arrived in (``receive_frame_and_more``).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import struct
from typing import NamedTuple

from kazdata.runtime.verdicts import DIGEST_BYTES, NO_DIGEST, digest
from kazdata.sparql.policy import QueryRequest

log = logging.getLogger("kazdata.query")
#: a frame's length, before its pickle (the framing of ``multiprocessing.connection``)
_LENGTH = struct.Struct("!i")
#: an answer up to this size is read whole before the response starts; a longer one is
#: relayed in pieces of this size as it arrives
PIECE_BYTES = 64 * 1024
#: the first read of a frame: a query, or an answer's header with up to ``PIECE_BYTES`` of its body
FIRST_READ = PIECE_BYTES + 4096


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


def read_exactly(sock: socket.socket, size: int) -> bytes:
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
    (size,) = _LENGTH.unpack(read_exactly(sock, _LENGTH.size))
    return pickle.loads(read_exactly(sock, size))


def receive_frame_and_more(sock: socket.socket, first: bytes | None = None) -> tuple[object, bytes]:
    """A frame, and what had already arrived behind it (a short answer's body), reading at most
    ``FIRST_READ`` bytes beyond the frame (``first``: the first read, done by the caller): in
    one read when the frame came in one write, as it does. Each read is a system call, and in a
    web worker one more chance for another thread to take the GIL and this one to wait for it
    back (issue 20: CPU per request)."""
    data = sock.recv(FIRST_READ) if first is None else first
    if not data:
        raise EOFError
    if len(data) < _LENGTH.size:
        data += read_exactly(sock, _LENGTH.size - len(data))
    end = _LENGTH.size + _LENGTH.unpack_from(data)[0]
    if len(data) < end:
        data += read_exactly(sock, end - len(data))
    return pickle.loads(memoryview(data)[_LENGTH.size:end]), data[end:]


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
