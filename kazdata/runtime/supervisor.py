"""The query supervisor and its query processes (docs/decisions/004).

- the supervisor is a single-threaded process that ``kazdata serve`` forks before the HTTP
  server. It opens the release's store (``memory``: it loads the dump once and its children
  share it copy-on-write; ``disk``: each child opens the RocksDB store read-only) and forks
  ``query_processes`` children. It never starts a thread, so forking is always safe. It re-forks
  a child that dies, and when the release symlink moves to a new release it opens that one and
  replaces its children (those answering finish first); if it dies, the keeper that ``kazdata
  serve`` runs as (``kazdata.runtime.keeper``) restarts it through ``QueryService.keep_running``;
- each child accepts connections on one Unix socket in a private (0700) folder and answers one
  query per connection, as ``kazdata.runtime.query_client`` expects; a child that the web worker
  moved down to the lowest priority exits after answering and is replaced by a fresh one.
"""

from __future__ import annotations

import logging
import os
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import BinaryIO

import pyoxigraph as ox

from kazdata.errors import BackendUnavailable, BadRequest, KazdataError, ReleaseError
from kazdata.release.opened import OpenedRelease, Release, open_release, release_stamp
from kazdata.runtime.query_client import (
    PID_HEADER,
    REPLY_STATUS,
    TRANSFER_TIMEOUT,
    kill_process,
    name_process,
    receive_message,
    send_message,
)
from kazdata.settings import Settings
from kazdata.sparql.backends.embedded import evaluate
from kazdata.vocabulary import prefixes_for

log = logging.getLogger("kazdata.sparql.policy")

#: How much nicer than the web workers a query process starts. 0: a cheap query competes with
#: dereferencing on equal terms (5 made cheap queries 4x slower whenever anything else ran);
#: what keeps documents fast beside heavy queries is ``HEAVY_NICENESS``.
CHILD_NICENESS = 0
#: A query process ends itself this long after the operator's time limit, in case the web
#: worker that should have killed it is gone (killed, restarted, or its watcher thread died).
STRAY_QUERY_GRACE = 1.0
RELEASE_CHECK_INTERVAL = 1.0
#: How often a supervisor that could not be restarted is tried again on the same release.
RESTART_RETRY = 30.0


def _readable(pipe: BinaryIO) -> bool:
    poller = select.poll()
    poller.register(pipe, select.POLLIN)
    return bool(poller.poll(0))


@dataclass
class _Generation:
    """The store of one release and the children forked to answer from it."""

    number: int
    stamp: tuple
    store: ox.Store | None  # opened here for ``memory``; None when each child opens its own
    release: Release
    prefixes: dict[str, str]


class QueryService:
    """Starts and stops the query supervisor (``kazdata serve`` does, before the HTTP server)."""

    def __init__(self, folder: str, pid: int) -> None:
        self.folder = folder
        self.pid = pid
        self.settings: Settings = Settings()
        self.opened: OpenedRelease | None = None
        self._failed_stamp: tuple | None = ()  # the release pointer when a restart last failed
        self._failed_at = 0.0
        self._starting: BinaryIO | None = None  # the ready pipe of a supervisor being restarted

    @property
    def socket_path(self) -> str:
        return os.path.join(self.folder, "query.sock")

    @classmethod
    def start(cls, settings: Settings, opened: OpenedRelease | None = None) -> "QueryService":
        """Fork the supervisor; return once it listens. Raises ReleaseError if it cannot open
        the release's store (the message says why)."""
        service = cls(tempfile.mkdtemp(prefix="kazdata-query-"), 0)
        service.settings = settings
        service.opened = opened
        try:
            service._fork()
        except ReleaseError:
            shutil.rmtree(service.folder, ignore_errors=True)
            raise
        return service

    def _fork(self) -> None:
        """Fork a supervisor and wait until it listens; raises ReleaseError if it cannot."""
        self._await(self._fork_supervisor())

    def _fork_supervisor(self) -> BinaryIO:
        """Fork a supervisor; returns the pipe on which it says ``ok`` once it listens, or why not."""
        ready_read, ready_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the supervisor
            os.close(ready_read)
            code = 1
            try:
                name_process("kz-query-super")
                code = _Supervisor(self.settings, self.opened, self.socket_path, ready_write).run()
            except KazdataError as error:
                os.write(ready_write, error.message.encode()[:4000])
            except BaseException as error:  # noqa: BLE001 - reported to the parent, which exits
                os.write(ready_write, f"query supervisor failed: {error!r}".encode()[:4000])
            finally:
                os._exit(code)
        os.close(ready_write)
        self.pid = pid
        return os.fdopen(ready_read, "rb")

    def _await(self, ready: BinaryIO) -> None:
        with ready:
            answer = ready.read(4096).decode(errors="replace")
        if answer != "ok":
            # end only this attempt: the socket folder stays, so a later restart can bind in it
            self._end_supervisor()
            raise ReleaseError(answer or "the query supervisor exited while starting")

    def alive(self) -> bool:
        try:
            return os.waitpid(self.pid, os.WNOHANG)[0] == 0
        except ChildProcessError:
            return False  # already reaped

    def keep_running(self) -> None:
        """Start a new supervisor on the same socket if this one has died (the keeper,
        ``kazdata.runtime.keeper``, calls this about once a second and whenever a child exits). Its orphaned query processes notice
        and exit; a web worker's query in flight gets a 503.

        It never waits for the new supervisor: opening a store (loading the dump, verifying a
        release) takes seconds to minutes, and the keeper must keep answering signals meanwhile; a later call collects the outcome. A restart that failed
        is tried again when the release pointer changes, else only every ``RESTART_RETRY``
        seconds, since each attempt may hash and load a whole release.
        """
        if self._starting is not None:
            if self.alive() and not _readable(self._starting):
                return  # still opening its store
            try:
                self._await(self._starting)
                self._failed_stamp = ()
                return
            except ReleaseError as error:
                self._failed_at = time.monotonic()
                log.error("cannot restart the query supervisor: %s", error.message)
            finally:
                self._starting = None
        if self.alive():
            return
        try:
            stamp = release_stamp(self.settings.release)
        except OSError:
            stamp = None
        if stamp == self._failed_stamp and time.monotonic() - self._failed_at < RESTART_RETRY:
            return
        log.error("the query supervisor %s has died; starting a new one", self.pid)
        self._failed_stamp = stamp  # until it says ok
        self._starting = self._fork_supervisor()

    def _end_supervisor(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass

    def stop(self) -> None:
        """End the supervisor (which ends its query processes) and remove the socket folder."""
        self._end_supervisor()
        shutil.rmtree(self.folder, ignore_errors=True)


class _Supervisor:
    def __init__(self, settings: Settings, opened: OpenedRelease | None, socket_path: str, ready_fd: int) -> None:
        from kazdata.sparql.backends import EMBEDDED_STORES
        self.settings = settings
        self.opened = opened
        self.kind = EMBEDDED_STORES[settings.backend]
        self.socket_path = socket_path
        self.ready_fd = ready_fd
        self.size = max(1, int(settings.query_processes))
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (generation number, started)
        self.parent = os.getppid()

    def _open(self, stamp: tuple, number: int) -> _Generation:
        release = open_release(stamp, self.settings.verify, self.opened)
        store = self.kind.open(release) if self.kind.shared_by_fork else None
        if not self.kind.shared_by_fork:
            self.kind.check(release)
        return _Generation(number, stamp, store, release, prefixes_for(release.base))

    def run(self) -> int:
        watched = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, watched)
        # ``kazdata serve`` verified the release it started with; any other one (a supervisor
        # restarted after a switch) is verified here, as the web workers and _maybe_switch do
        current = self._open(release_stamp(self.settings.release), 1)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)  # left by a supervisor that died
        listener.bind(self.socket_path)
        listener.listen(1024)
        os.write(self.ready_fd, b"ok")
        os.close(self.ready_fd)
        checked = time.monotonic()
        orphaned = False
        while True:
            self._reap()
            if os.getppid() != self.parent:
                orphaned = True  # the server is gone
                break
            if time.monotonic() - checked >= RELEASE_CHECK_INTERVAL:
                checked = time.monotonic()
                current = self._maybe_switch(current)
            running = sum(1 for number, _ in self.children.values() if number == current.number)
            for _ in range(self.size - running):
                self._fork_child(listener, current)
            info = signal.sigtimedwait(watched, RELEASE_CHECK_INTERVAL)
            if info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT):
                break
        for pid in self.children:
            kill_process(pid)
        for pid in self.children:  # reaped here: where PID 1 does not reap, they would stay zombies
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        listener.close()
        if orphaned:  # the keeper that made the socket folder cannot remove it any more
            shutil.rmtree(os.path.dirname(self.socket_path), ignore_errors=True)
        return 0

    def _maybe_switch(self, current: _Generation) -> _Generation:
        try:
            stamp = release_stamp(self.settings.release)
        except OSError:
            return current  # the pointer is being replaced
        if stamp == current.stamp:
            return current
        try:
            new = self._open(stamp, current.number + 1)
        except (ReleaseError, OSError, ValueError, KeyError) as error:
            log.error("query processes: not switching to %s: %s", stamp[0], getattr(error, "message", error))
            current.stamp = stamp  # retry on the next change
            return current
        for pid, (number, _) in self.children.items():
            if number == current.number:
                os.kill(pid, signal.SIGTERM)  # finish the query in hand, then exit
        return new

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            _number, started = self.children.pop(pid, (0, 0.0))
            if os.waitstatus_to_exitcode(status) not in (0, -signal.SIGKILL) and time.monotonic() - started < 1:
                time.sleep(0.5)  # a child that cannot start: do not fork in a tight loop

    def _fork_child(self, listener: socket.socket, generation: _Generation) -> None:
        pid = os.fork()
        if pid:
            self.children[pid] = (generation.number, time.monotonic())
            return
        code = 0
        try:
            name_process("kz-query")
            _Child(listener, generation, self.kind, os.getppid(), float(self.settings.query_timeout),
                   int(self.settings.query_memory)).run()
        except BaseException as error:  # noqa: BLE001 - a child reports and ends, the supervisor forks anew
            print(f"kazdata query process {os.getpid()}: {error!r}", file=sys.stderr, flush=True)
            code = 1
        finally:
            os._exit(code)


class _Child:
    def __init__(self, listener: socket.socket, generation: _Generation, kind, supervisor: int,
                 time_limit: float, memory_limit: int) -> None:
        self.listener = listener
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.generation = generation
        self.kind = kind
        self.supervisor = supervisor
        self.stopping = False

    def _stop(self, _signo, _frame) -> None:
        self.stopping = True

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which ends us
        # the kernel ends us on SIGALRM even inside pyoxigraph: the backstop for a query whose
        # web worker is no longer there to kill it (see _answer)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        niceness = os.nice(CHILD_NICENESS)
        store = self.generation.store or self.kind.open(self.generation.release)
        _limit_memory(self.memory_limit)
        self.listener.settimeout(0.5)
        while not self.stopping and os.getppid() == self.supervisor:
            try:
                connection, _ = self.listener.accept()
            except (TimeoutError, InterruptedError):
                continue
            with connection:
                self._answer(connection, store)
            if os.getpriority(os.PRIO_PROCESS, 0) > niceness:
                return  # moved down as a heavy query: a fresh process at normal priority replaces us

    def _answer(self, connection: socket.socket, store: ox.Store) -> None:
        connection.settimeout(TRANSFER_TIMEOUT)
        try:
            connection.sendall(PID_HEADER.pack(os.getpid()))
            message = receive_message(connection)
            if message is None:
                return  # the web worker gave up while we were busy
            request, limit = message
            signal.setitimer(signal.ITIMER_REAL, self.time_limit + STRAY_QUERY_GRACE)
            try:
                reply = ("ok", evaluate(store, request, self.generation.prefixes, limit))
            except (BadRequest, BackendUnavailable) as error:
                reply = (REPLY_STATUS[type(error)], error.message)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            send_message(connection, reply)
            # Take no other query until the web worker has closed this connection: while it is
            # open, the pid it holds means this query, so a kill it sends at its deadline (or a
            # renice) cannot land on the next query this process would have taken.
            connection.recv(1)
        except OSError:
            pass  # the web worker went away: nothing to answer


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
    # An allocation past the limit aborts pyoxigraph; with RUST_BACKTRACE set (as on this
    # machine) Rust first symbolises a backtrace, which took seconds under load: the client
    # then got the time limit's 503 instead of the memory limit's at once.
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
