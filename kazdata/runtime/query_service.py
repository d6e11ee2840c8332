"""The keeper's side of the query processes: one listening socket, the supervisors behind it.

``kazdata serve`` binds the query socket once, in a private (0700) folder, and forks a query
supervisor (``kazdata.runtime.supervisor``) that inherits it. The keeper then calls
``QueryService.keep_running`` about once a second: it starts a new supervisor when the release
pointer moves or the current one dies, without ever waiting for it (opening a store takes
seconds to minutes, and the keeper must keep answering signals). Once the new one serves, the
old one is told to finish the queries in hand and exit. The socket never closes meanwhile, so a
web worker's connection waits in its backlog until some supervisor takes it: a switch or a
restart fails no request that fits in its timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass

from kazdata.errors import KazdataError, ReleaseError
from kazdata.release.opened import OpenedRelease, release_stamp
from kazdata.runtime.processes import Forked, end_with_parent, name_process
from kazdata.runtime.supervisor import DRAIN, Supervisor
from kazdata.settings import Settings

log = logging.getLogger("kazdata.query")

#: How long a supervisor may take to open its release before it is deemed stuck and killed.
READY_TIMEOUT = 900.0
#: How long a supervisor has to end after SIGTERM before it is SIGKILLed (its children with it).
STOP_GRACE = 5.0
#: How often a supervisor that could not be started is tried again on the same release.
RESTART_RETRY = 30.0
#: Signals that abort a start (``kazdata serve`` blocks them until its keeper runs).
ABORT_START = {signal.SIGTERM, signal.SIGINT, signal.SIGQUIT}


@dataclass
class _SupervisorProcess:
    """A supervisor the keeper forked, and what the keeper knows of it."""

    process: Forked
    stamp: tuple
    ready_by: float  # killed if it has not said ``ok`` by then
    ready: int = -1  # the pipe on which it says ``ok`` or why not; -1 once closed
    end_by: float = 0.0  # while draining: SIGKILL after this


class QueryService:
    """The query socket and the supervisors answering on it (``kazdata serve`` starts it)."""

    def __init__(self, settings: Settings, folder: str, opened: OpenedRelease | None = None) -> None:
        self.settings = settings
        self.opened = opened  # the release ``kazdata serve`` verified, reused while it is the one served
        self.folder = folder
        self.listener: socket.socket | None = None
        self.current: _SupervisorProcess | None = None
        self.starting: _SupervisorProcess | None = None
        self.draining: list[_SupervisorProcess] = []
        self._failed: tuple | None = None  # the stamp a start last failed on
        self._failed_at = 0.0
        self._why = ""

    @property
    def socket_path(self) -> str:
        return os.path.join(self.folder, "query.sock")

    @property
    def pid(self) -> int:
        """The serving supervisor's pid (for tests and logs; nothing signals it by this number)."""
        return self.current.process.pid if self.current else 0

    @classmethod
    def start(cls, settings: Settings, timeout: float = READY_TIMEOUT, *,
              opened: OpenedRelease | None = None) -> QueryService:
        """Bind the socket and start a supervisor; return once it serves. Raises ReleaseError if
        it cannot open the release (the message says why) or is not ready within ``timeout``."""
        service = cls(settings, tempfile.mkdtemp(prefix="kazdata-query-"), opened)
        try:
            service.starting = service._fork(release_stamp(settings.release), timeout)
            while service.starting is not None:
                if signal.sigpending() & ABORT_START:
                    raise ReleaseError("stopped while the query supervisor was opening the release")
                service._collect_start(wait=0.1)
            if service.current is None:
                raise ReleaseError(service._why)
        except BaseException:
            service.stop()
            raise
        return service

    def _listen(self) -> socket.socket:
        """The query socket, bound now if it is not (the supervisors inherit it)."""
        if self.listener is None:
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if os.path.exists(self.socket_path):
                os.unlink(self.socket_path)
            listener.bind(self.socket_path)
            listener.listen(1024)
            listener.setblocking(False)  # shared by every supervisor: whoever has an idle child accepts
            self.listener = listener
        return self.listener

    def _unlisten(self) -> None:
        """Close the query socket while no supervisor can answer: web workers get their 503 at
        once instead of at the end of their timeout."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)

    def _fork(self, stamp: tuple, ready_timeout: float = READY_TIMEOUT) -> _SupervisorProcess:
        listener = self._listen()
        ready_read, ready_write = os.pipe()
        keeper = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(ready_read)
                code = run_supervisor(self.settings, self.opened, stamp, listener, ready_write, keeper)
            finally:
                os._exit(code)
        os.close(ready_write)
        return _SupervisorProcess(Forked(pid), stamp, time.monotonic() + ready_timeout, ready_read)

    def alive(self) -> bool:
        return self.current is not None and self.current.process.alive()

    def keep_running(self) -> None:
        """Collect what the supervisors did since the last call, and start one if the serving
        one died or the release pointer moved. Never waits (the keeper calls it about once a
        second and whenever a child exits). A start that failed is tried again when the release
        pointer moves, else every ``RESTART_RETRY`` seconds while no supervisor serves."""
        self._collect_start(wait=0.0)
        self._collect_drained()
        if self.starting is not None:
            return
        try:
            stamp = release_stamp(self.settings.release)
        except OSError:
            stamp = None  # the pointer is being replaced, or points at nothing usable
        current = self.current
        alive = current is not None and current.process.alive()
        if current is not None and alive and stamp in (None, current.stamp, self._failed):
            return  # serving; a release it could not open is retried when the pointer moves
        if stamp is None or (stamp == self._failed and time.monotonic() - self._failed_at < RESTART_RETRY):
            self._unlisten()  # nothing serves, nothing to start yet
            return
        if alive:
            log.warning("the release changed to %s; starting query processes for it", stamp[0])
        else:
            log.error("the query supervisor %s has died; starting a new one", self.pid)
        self.starting = self._fork(stamp)

    def _collect_start(self, wait: float) -> None:
        """If the starting supervisor has said ``ok``, let it serve and drain the one before it;
        if it failed or is past its ``ready_by``, end it and remember why."""
        starting = self.starting
        if starting is None:
            return
        readable, _, _ = select.select([starting.ready], [], [], wait)
        if not readable and time.monotonic() < starting.ready_by:
            return
        answer = os.read(starting.ready, 4096).decode(errors="replace") if readable else ""
        os.close(starting.ready)
        starting.ready = -1
        self.starting = None
        if answer == "ok":
            if self.current is not None:
                self._drain(self.current)
            self.current, self._failed = starting, None
            return
        self._why = answer or ("the query supervisor did not open the release in time" if not readable
                               else "the query supervisor exited while starting")
        starting.process.end(STOP_GRACE)
        self._failed, self._failed_at = starting.stamp, time.monotonic()
        log.error("cannot start the query supervisor: %s", self._why)
        if not self.alive():
            self._unlisten()

    def _drain(self, old: _SupervisorProcess) -> None:
        old.process.signal(DRAIN)
        old.end_by = time.monotonic() + float(self.settings.query_timeout) + STOP_GRACE
        self.draining.append(old)

    def _collect_drained(self) -> None:
        for old in list(self.draining):
            if not old.process.alive():
                self.draining.remove(old)
            elif time.monotonic() > old.end_by:
                old.process.signal(signal.SIGKILL)  # its children follow (PR_SET_PDEATHSIG)

    def stop(self) -> None:
        """End every supervisor (which ends its query processes) and remove the socket folder;
        waits at most about ``2 * STOP_GRACE`` seconds."""
        supervisors = [s for s in (self.starting, self.current, *self.draining) if s is not None]
        for supervisor in supervisors:
            supervisor.process.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for supervisor in supervisors:
            if not supervisor.process.wait(max(0.0, deadline - time.monotonic())):
                supervisor.process.signal(signal.SIGKILL)
                supervisor.process.wait(STOP_GRACE)
            if supervisor.ready >= 0:
                os.close(supervisor.ready)
                supervisor.ready = -1
        self.starting, self.current, self.draining = None, None, []
        self._unlisten()
        shutil.rmtree(self.folder, ignore_errors=True)


def run_supervisor(settings: Settings, opened: OpenedRelease | None, stamp: tuple, listener: socket.socket,
                   ready_fd: int, keeper: int) -> int:
    """The body of a supervisor the keeper forked: its exit code. Why it could not start goes
    to ``ready_fd``, where the keeper reads ``ok`` once it serves."""
    code, why, trace = 1, "", ""
    supervisor: Supervisor | None = None
    try:
        name_process("kz-query-super")
        end_with_parent(keeper, signal.SIGTERM)
        supervisor = Supervisor(settings, opened, stamp, listener, ready_fd, keeper)
        code = supervisor.run()
    except KazdataError as error:
        why = error.message
    except BaseException as error:  # noqa: BLE001 - reported to the keeper, or logged
        why = f"query supervisor failed: {error!r}"
        trace = traceback.format_exc()
    if why and supervisor is not None and supervisor.ready_fd < 0:
        # it had said ok (and closed the pipe, whose number may name another descriptor now):
        # the keeper sees it exit, but only this process knows why (a failure while draining
        # once went unnoticed, its exit looking like the end of a drain)
        log.error("query supervisor %s: %s\n%s", os.getpid(), why, trace)
    elif why:
        try:
            os.write(ready_fd, why.encode()[:4000])  # one write under PIPE_BUF: read whole
        except OSError:
            pass  # the keeper is gone
    return code
