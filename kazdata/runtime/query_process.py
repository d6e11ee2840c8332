"""A query process: answers the connections its supervisor hands it, one at a time.

It never decides when it is killed or reniced: its supervisor does (``kazdata.runtime.supervisor``).
It only reads one query from each connection, answers it, closes it and says ``done`` to the
supervisor, which hands it nothing else until it has read that.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import resource
import signal
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from kazdata.errors import BackendUnavailable, BadRequest, Forbidden, NotAcceptable
from kazdata.release.opened import Release
from kazdata.runtime import verdicts
from kazdata.runtime.isolation import cut_network
from kazdata.runtime.query_frames import PIECE_BYTES, frame, receive_frame_and_more, send_frame
from kazdata.sparql.backends.embedded import RESULT_BYTES, detached, evaluate
from kazdata.sparql.query_check import QueryRules

if TYPE_CHECKING:
    from kazdata.sparql.backends import EmbeddedStore

#: The kernel ends a query process this long after the time limit even inside pyoxigraph
#: (SIGALRM at its default): a backstop should its supervisor ever fail to kill it.
STRAY_QUERY_GRACE = 1.0


@dataclass(frozen=True)
class Store:
    """What a supervisor's query processes evaluate on."""

    shared: ox.Store | None  # opened by the supervisor (``memory``); None when each child opens its own
    release: Release
    kind: EmbeddedStore
    rules: QueryRules  # what a query is checked against, and the predeclared prefixes

    @property
    def needs_network(self) -> bool:
        """Only an operator's SERVICE allow-list opens the network (``kazdata.runtime.isolation``)."""
        return bool(self.rules.service_allowlist)


def answer_queries(control: socket.socket, store: Store, time_limit: float, memory_limit: int,
                   result_bytes: int = RESULT_BYTES) -> None:
    """Answer each connection that comes down ``control`` until the supervisor closes it; a
    result keeps at most ``result_bytes`` of terms (``evaluate``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the keeper, which ends us all
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    if not store.needs_network:
        cut_network()  # before anything starts a thread: unshare needs a single-threaded process
    opened = store.shared or store.kind.open(store.release)
    _limit_memory(memory_limit)
    while True:
        message, descriptors, _flags, _address = socket.recv_fds(control, 64, 1)
        if not message:
            return  # the supervisor is gone (it would also have had us SIGKILLed)
        said = verdicts.DONE
        for descriptor in descriptors:
            # family, type and protocol given: two system calls fewer per query (only the check that
            # it is a socket is left)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, descriptor) as client:
                client.setblocking(True)
                said = _answer(client, opened, store.rules, time_limit, result_bytes, message)
        control.sendall(said)


def _answer(client: socket.socket, store: ox.Store, rules: QueryRules, time_limit: float,
            result_bytes: int, handed: bytes) -> bytes:
    """Read one query from ``client`` (the supervisor hands a connection on once its query has
    arrived, ``handed`` saying what it knows of the query check's verdict), answer it: a header
    frame, then the body's bytes. Returns the ``done`` for the supervisor, with the verdict
    when the check ran here and passed (``kazdata.runtime.verdicts``), even if the web worker
    has gone meanwhile: the verdict stands."""
    said = verdicts.DONE
    try:
        message, _nothing = receive_frame_and_more(client)  # the web worker sends nothing behind it
        assert isinstance(message, tuple)
        request, limit, give_up_at = message
        if time.monotonic() >= give_up_at:
            return said  # the web worker stopped waiting while the query was queued
        if request.checked_uses_from is None:
            shared = verdicts.verdict_for(handed, request.text)
            if shared is not None:
                request = dataclasses.replace(request, checked_uses_from=shared)
        # a backstop until the last byte is sent: the supervisor kills at the limit itself
        signal.setitimer(signal.ITIMER_REAL, time_limit + STRAY_QUERY_GRACE)
        try:
            try:
                answer = evaluate(store, request, rules, limit, result_bytes)
            except (BadRequest, Forbidden, NotAcceptable, BackendUnavailable) as error:
                send_frame(client, ("error", detached(error)))
                return said
            said = verdicts.done(answer.uses_from if request.checked_uses_from is None else None, request.text)
            header = frame(("ok", answer.fmt.extension, answer.truncated, answer.length, answer.uses_from))
            pieces = iter(answer.pieces)
            first = next(pieces, b"")
            if len(first) <= PIECE_BYTES:  # one write: the web worker wakes once for a short answer
                header, first = header + first, b""
            client.sendall(header)
            for piece in itertools.chain((first,), pieces):
                if piece:
                    client.sendall(piece)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except (OSError, EOFError):
        pass  # the web worker went away: nothing more to answer
    return said


def _limit_memory(megabytes: int) -> None:
    """Let this process allocate at most ``megabytes`` more than it holds now (the store).

    result_limit bounds the rows, not their size: CONCAT doubling a string thirty times is a
    1 GB row, and a few such queries at once would bring the kernel's OOM killer, which may pick
    a web worker or the supervisor. RLIMIT_DATA counts private mappings, the shared store
    included, so the budget is set above what is mapped now; past it an allocation fails and
    this process ends (Rust aborts) or raises MemoryError, and the web worker answers 503.
    Does nothing where there is no /proc (not Linux) or with 0.
    """
    if megabytes <= 0:
        return
    # no backtrace when an allocation past the limit aborts: symbolising one under load can
    # outlast the time limit (decision 004)
    os.environ["RUST_BACKTRACE"] = "0"
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmData:"))
    except (OSError, StopIteration, ValueError):
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = mapped + megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
