"""The query supervisor and its query processes (docs/decisions/004).

A supervisor serves one release. It opens the release's store (``memory``: loaded once, shared
copy-on-write by its children; ``disk``: each child opens RocksDB read-only), forks
``query_processes`` children and runs one ``selectors`` loop that:

- accepts a web worker's connection on the listening socket it inherited from the keeper, only
  while a child is idle (else it waits in the kernel's backlog), and hands it to that child
  (``socket.send_fds``), unless its client is past ``--queries-per-client`` (counted over
  every web worker: ``kazdata.runtime.query_intake``); the child answers and says ``done``.
  The supervisor then keeps the connection and watches it for the web worker's next query,
  taken and handed on the same way, ticket and cap included (a web worker keeps one
  connection per thread, ``kazdata.runtime.query_client``);
- keeps every busy child's times: past ``HEAVY_AFTER`` it renices the child to
  ``HEAVY_NICENESS``, so documents and cheap queries keep their latency beside it; past the
  time limit it SIGKILLs it. A child is handed no other query until the supervisor has read
  its ``done``, and it is signalled only while unreaped, so a kill or a renice can never land
  on another query or on a stranger that got the pid;
- forks a replacement for every child that died, was killed, or was reniced.

The keeper (``kazdata.runtime.query_service``) starts a new supervisor when the release changes
or this one dies; SIGUSR1 tells this one to stop accepting, close the connections it keeps and
end once the queries in hand are answered, SIGTERM to end at once. Its children are SIGKILLed by
the kernel if it dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import selectors
import shutil
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass

from kazdata.release.opened import OpenedRelease, open_release
from kazdata.runtime.processes import end_with_parent, exit_status_soon, name_process
from kazdata.runtime.query_frames import Ticket, has_unread, report_crash
from kazdata.runtime.query_intake import Intake
from kazdata.runtime.query_process import Store, answer_queries
from kazdata.runtime.verdicts import Verdicts
from kazdata.settings import Settings
from kazdata.sparql.fair_share import Hold
from kazdata.sparql.query_check import QueryRules
from kazdata.vocabulary import prefixes_for

log = logging.getLogger("kazdata.query")

#: Niceness of a query that has run longer than ``HEAVY_AFTER`` seconds.
HEAVY_NICENESS = 19
HEAVY_AFTER = 0.2
#: How much nicer than the web workers a query process starts. 0: a cheap query competes with
#: dereferencing on equal terms; what keeps documents fast beside heavy queries is ``HEAVY_NICENESS``.
CHILD_NICENESS = 0
#: SIGUSR1: stop accepting, finish the queries in hand, exit (a release switch). SIGTERM: exit now.
DRAIN = signal.SIGUSR1
#: The longest the loop sleeps with nothing to do: how soon it notices its parent is gone.
IDLE_WAKE = 1.0
#: Most connections kept open between queries (one per web-worker thread is expected).
MAX_KEPT = 1024
_PEER_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid


@dataclass
class _Child:
    """The supervisor's record of a query process it forked (and has not yet reaped)."""

    pid: int
    control: socket.socket  # the supervisor's end: connections go down it, ``done`` comes up
    started: float  # when it was forked
    handed_at: float | None = None  # when the query in hand was handed over; None when idle
    heavy: bool = False
    client: socket.socket | None = None  # the connection in hand: told if this child crashes
    ticket: Ticket | None = None  # whose query it is, and when its web worker stops waiting


class Supervisor:
    """One release's query processes, and the only process that signals them (see above)."""

    def __init__(self, settings: Settings, opened: OpenedRelease | None, stamp: tuple, listener: socket.socket,
                 ready_fd: int, keeper: int) -> None:
        from kazdata.sparql.backends import EMBEDDED_STORES
        self.settings = settings
        self.opened = opened
        self.stamp = stamp
        self.kind = EMBEDDED_STORES[settings.backend]
        self.listener = listener
        self.ready_fd = ready_fd
        self.size = max(1, int(settings.query_processes))
        self.time_limit = float(settings.query_timeout)
        self.children: dict[int, _Child] = {}  # pid -> child, while it may be handed queries
        self.forgotten: set[int] = set()  # pids dead or killed, not yet reaped
        self.selector = selectors.DefaultSelector()
        #: connections accepted and not yet handed (or refused); one whose query process died
        #: before reading the query is put back there
        # kept: half the descriptors it may open, so that accepting never fails for want of one
        self.intake = Intake(self.selector, int(settings.queries_per_client),
                             min(MAX_KEPT, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 2))
        self.parent = keeper
        self.verdicts = Verdicts()  # the query check's, shared by the children (``kazdata.runtime.verdicts``)
        self.store: Store  # opened by run(), before any child is forked
        self._wakeup_pair: tuple[socket.socket, ...] = ()
        self._order: dict[object, int] = {}  # which events of one wake go first (``_serve``)
        self.draining = self.stopping = False
        self.accepting = False
        self.fork_after = 0.0  # after a child that could not start: do not fork in a tight loop

    def run(self) -> int:
        """Open the release, say ``ok`` on the ready pipe, serve until told to stop."""
        # SIGTERM at its default while the store loads: the keeper can end a loading supervisor at once
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        release = open_release(self.stamp, self.settings.verify, self.opened)
        store = self.kind.open(release) if self.kind.shared_by_fork else None
        if not self.kind.shared_by_fork:
            self.kind.check(release)
        rules = QueryRules(prefixes_for(release.base), tuple(self.settings.service_allowlist))
        rules.check("ASK { ?service ?from ?with }")  # a first parse here, for every child to share
        self.store = Store(store, release, self.kind, rules)
        wakeup = self._watch_signals()
        os.write(self.ready_fd, b"ok")
        os.close(self.ready_fd)
        self.ready_fd = -1
        try:
            self._serve(wakeup)
        finally:
            self.intake.stop_keeping()
            self._end_children()
        if os.getppid() != self.parent:  # the keeper that made the socket folder cannot remove it any more
            shutil.rmtree(os.path.dirname(self.listener.getsockname()), ignore_errors=True)
        return 0

    def _watch_signals(self) -> socket.socket:
        """Signals wake the selector through a socket (``signal.set_wakeup_fd``): one loop waits
        for connections, children and signals alike."""
        wakeup, wakeup_write = socket.socketpair()
        wakeup.setblocking(False)
        wakeup_write.setblocking(False)
        self._wakeup_pair = (wakeup, wakeup_write)
        signal.set_wakeup_fd(wakeup_write.fileno())
        for signo in (signal.SIGCHLD, signal.SIGTERM, DRAIN):
            signal.signal(signo, lambda *_: None)  # the byte on the wakeup socket says which
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the keeper, which ends us
        self.selector.register(wakeup, selectors.EVENT_READ, self._on_signals)
        self._order = {wakeup: 0, self.listener: 2}
        return wakeup

    def _serve(self, wakeup: socket.socket) -> None:
        while not self.stopping and not (self.draining and not self._busy() and not self.intake):
            now = time.monotonic()
            if not self.draining and now >= self.fork_after:
                for _ in range(self.size - len(self.children)):
                    self._fork_child()
            self._hand_waiting()
            self._accept_while_idle()
            events = self.selector.select(self._next_wake(time.monotonic()))
            # signals first, the listener last: a child that died meanwhile is forgotten, and a
            # drain takes effect, before anything is handed to a child
            if len(events) > 1:
                events.sort(key=lambda event: self._order.get(event[0].fileobj, 1))
            registered = self.selector.get_map()  # a live view
            for key, _events in events:
                if registered.get(key.fd) is key:  # not closed by an earlier event of this wake
                    key.data(key.fileobj)
            self._enforce_limits(time.monotonic())
            if self.intake.arriving:
                self.intake.expire(time.monotonic())
            if self.forgotten:
                self._reap()  # in case a SIGCHLD byte was lost from a full wakeup socket
            if os.getppid() != self.parent:
                self.stopping = True  # the keeper is gone (PR_SET_PDEATHSIG also says so)

    def _busy(self) -> list[tuple[_Child, float]]:
        """The children with a query in hand, and when it was handed over."""
        return [(child, child.handed_at) for child in self.children.values() if child.handed_at is not None]

    def _next_wake(self, now: float) -> float:
        wake = now + IDLE_WAKE
        for child, handed_at in self._busy():
            wake = min(wake, handed_at + (self.time_limit if child.heavy else HEAVY_AFTER))
        if len(self.children) < self.size and not self.draining:
            wake = min(wake, self.fork_after)
        return max(0.0, min(wake, self.intake.next_wake() or wake) - now)

    def _accept_while_idle(self) -> None:
        """Listen only while a child is idle for the connection (those accepted and not yet
        handed count): otherwise connections wait in the kernel's backlog, where another
        supervisor (during a release switch) may take them."""
        idle = not self.draining and sum(c.handed_at is None for c in self.children.values()) > len(self.intake)
        if idle and not self.accepting:
            self.selector.register(self.listener, selectors.EVENT_READ, self._on_connection)
        elif not idle and self.accepting:
            self.selector.unregister(self.listener)
        self.accepting = idle

    def _on_signals(self, wakeup: socket.socket) -> None:
        try:
            received = wakeup.recv(512)
        except BlockingIOError:
            return
        if signal.SIGCHLD in received:
            self._reap()
        if signal.SIGTERM in received:
            self.stopping = True
        if DRAIN in received and not self.draining:
            self.draining = True
            self.intake.stop_keeping()
            # idle ones have nothing to lose, but for the connections already accepted
            for child in [c for c in self.children.values() if c.handed_at is None][len(self.intake):]:
                self._kill(child)

    def _on_connection(self, listener: socket.socket) -> None:
        idle = [] if self.draining else [c for c in self.children.values() if c.handed_at is None]
        if len(idle) <= len(self.intake):
            return  # told to drain, or a child died, since the select: leave it in the backlog
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return  # another supervisor took it
        with contextlib.ExitStack() as unless_handed:
            unless_handed.callback(connection.close)
            _pid, uid, _gid = _PEER_CREDENTIALS.unpack(
                connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEER_CREDENTIALS.size))
            if uid != os.getuid():
                log.error("query socket: refused a connection from uid %s", uid)
                return
            unless_handed.pop_all()
        self.intake.take(connection, time.monotonic())
        self._hand_waiting()  # now if its ticket was there, as it nearly always is; else once read

    def _holds(self, client: str) -> list[Hold]:
        """What ``client``'s queries hold now: one per query process in hand with one of them."""
        return [Hold(child.ticket.client, child.handed_at, child.ticket.give_up_at, child.handed_at + self.time_limit)
                for child in self.children.values()
                if child.handed_at is not None and child.ticket is not None and child.ticket.client == client]

    def _hand(self, connection: socket.socket, ticket: Ticket, idle: list[_Child]) -> bool:
        """Hand ``connection`` to the first of ``idle`` still alive; False if none took it."""
        for child in idle:
            try:
                socket.send_fds(child.control, [self.verdicts.hand(ticket.digest)], [connection.fileno()])
            except OSError:
                self._forget(child)  # it has just died: try the next one
                continue
            child.handed_at = time.monotonic()
            child.client, child.ticket = connection, ticket  # kept until ``done``, to report a crash on
            return True
        return False

    def _hand_waiting(self) -> None:
        """Hand the connections whose ticket was read to idle children, first come first, as
        the per-client cap allows (``Intake.next_query``). Draining, to the children kept for
        them (an accepted connection cannot go back to the backlog); with none left, they are
        closed (a 503 each)."""
        while self.intake.waiting:
            idle = [c for c in self.children.values() if c.handed_at is None]
            if not idle:
                if self.draining and not self.children:
                    self.intake.close()
                return  # a child frees, or a replacement is being forked: wait for it
            taken = self.intake.next_query(self._holds, time.monotonic())
            if taken is not None and not self._hand(*taken, idle):
                self.intake.put_back(*taken)  # those idle had just died: wait for replacements

    def _on_child(self, control: socket.socket) -> None:
        # registered while it is in ``children``: ``_serve`` skips an event of one forgotten meanwhile
        child = next(c for c in self.children.values() if c.control is control)
        try:
            said = control.recv(64)
        except OSError:
            said = b""
        if not said:
            self._lost(child)  # it died (out of memory, killed by hand): a replacement is forked
            return
        self.verdicts.learn(said)
        client, child.client, child.ticket = child.client, None, None
        if child.heavy:
            self._kill(child)  # idle now, and stuck at the lowest priority: a fresh one replaces it
        else:
            child.handed_at = None
        if client is not None:
            self.intake.keep(client)  # for the web worker's next query

    def _enforce_limits(self, now: float) -> None:
        for child, handed_at in self._busy():
            if now >= handed_at + self.time_limit:
                self._kill(child)  # first: the log line must not delay it
                log.warning("killed query process %s: its query ran past the %g s limit", child.pid,
                            self.time_limit)
            elif not child.heavy and now >= handed_at + HEAVY_AFTER:
                child.heavy = True
                try:
                    os.setpriority(os.PRIO_PROCESS, child.pid, HEAVY_NICENESS)
                except OSError:
                    pass  # it exited a moment ago and is not reaped yet

    def _kill(self, child: _Child) -> None:
        os.kill(child.pid, signal.SIGKILL)  # in self.children, so not reaped: still our child
        self._forget(child)

    @staticmethod
    def _release_client(child: _Child) -> None:
        if child.client is not None:
            child.client.close()
        child.client, child.ticket = None, None

    def _forget(self, child: _Child) -> None:
        """Stop handing ``child`` queries: it is dead or dying; ``_reap`` collects its exit."""
        self._release_client(child)
        self.selector.unregister(child.control)
        child.control.close()
        del self.children[child.pid]
        self.forgotten.add(child.pid)

    def _lost(self, child: _Child, status: int | None = None) -> None:
        """``child`` ended by itself; one that could not even start is not re-forked at once.
        The web worker whose query it held is told how it ended (``status``, else read here)."""
        reaped = False
        if child.client is not None and child.ticket is not None and has_unread(child.client):
            self.intake.put_back(child.client, child.ticket)  # it never read the query: another child will
            child.client = None
        if child.client is not None:
            if status is None:
                status = exit_status_soon(child.pid)
                reaped = status is not None
            report_crash(child.client, child.pid, status)
        self._forget(child)
        if reaped:
            self.forgotten.discard(child.pid)  # _reap must not wait for it
        if child.handed_at is None and time.monotonic() - child.started < 1.0:
            self.fork_after = time.monotonic() + 0.5

    def _reap(self) -> None:
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children:
                self._lost(self.children[pid], _status)
            self.forgotten.discard(pid)

    def _fork_child(self) -> None:
        control, child_end = socket.socketpair()
        supervisor = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid:
            child_end.close()
            self.children[pid] = _Child(pid, control, started=time.monotonic())
            self.selector.register(control, selectors.EVENT_READ, self._on_child)
            return
        code = 0
        try:
            self._leave_to_child(control)
            name_process("kz-query")
            end_with_parent(supervisor, signal.SIGKILL)
            answer_queries(child_end, self.store, self.time_limit, int(self.settings.query_memory),
                           int(self.settings.result_bytes))
        except BaseException as error:  # noqa: BLE001 - a child reports and ends, the supervisor forks anew
            print(f"kazdata query process {os.getpid()}: {error!r}", file=sys.stderr, flush=True)
            code = 1
        finally:
            os._exit(code)

    def _leave_to_child(self, control: socket.socket) -> None:
        """In a new child: drop the supervisor's signals and descriptors (a sibling holding the
        supervisor's end of another child's socket would hide that child's death, and one
        holding a web worker's connection would keep it open once the supervisor lets it go)."""
        signal.set_wakeup_fd(-1)
        for signo in (signal.SIGCHLD, signal.SIGTERM, DRAIN):
            signal.signal(signo, signal.SIG_DFL)
        self.selector.close()
        for sock in (control, self.listener, *self._wakeup_pair, *(c.control for c in self.children.values()),
                     *self.intake.connections(), *(c.client for c in self.children.values() if c.client)):
            sock.close()

    def _end_children(self) -> None:
        """SIGKILL every child still tracked and reap them all, waiting at most a few seconds."""
        for child in list(self.children.values()):
            self._kill(child)
        deadline = time.monotonic() + 5.0
        while self.forgotten and time.monotonic() < deadline:
            self._reap()
            if self.forgotten:
                time.sleep(0.01)
