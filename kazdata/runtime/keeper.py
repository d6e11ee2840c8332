"""The keeper: the process ``kazdata serve`` stays as, parent of the query supervisor and of the HTTP server.

    kazdata serve (keeper)
    ├── query supervisor (kz-query-super) ── query processes (kz-query)
    └── HTTP server's master (kz-http) ───── web workers

A query supervisor that dies must be started again without the HTTP server's help: granian's
master is Rust we cannot extend, and even gunicorn's had to be subclassed for it
(docs/decisions/005). So ``kazdata serve`` forks the HTTP server as a child and keeps the two
alive side by side: it restarts the supervisor (``QueryService.keep_running``, which never
blocks) whenever it dies, and it ends when the HTTP server ends. It is single-threaded and
handles signals synchronously (``sigtimedwait``), so forking from it is always safe.

Shutdown: SIGTERM, SIGINT, SIGHUP and SIGQUIT are passed to the HTTP server, which decides what
they mean (gunicorn: graceful stop, quick stop, reload workers, quick stop); once it has exited,
the keeper ends the supervisor, which ends its query processes, and removes the socket folder.
If the keeper itself is killed, the HTTP server is sent SIGTERM by the kernel
(``PR_SET_PDEATHSIG``) and the supervisor notices that its parent is gone, so nothing is orphaned.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable

from kazdata.runtime.query_client import name_process

log = logging.getLogger("kazdata.web")

#: signals meant for the server as a whole: the HTTP server gets them and decides
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
#: how long the HTTP server has to stop after a forwarded stop signal before it is killed
#: (gunicorn's graceful timeout and granian's workers_kill_timeout are 5 s)
STOP_TIMEOUT = 30.0
#: how often the keeper looks at its children when no signal wakes it
POLL_INTERVAL = 1.0
_PR_SET_PDEATHSIG = 1


def _end_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGTERM when the keeper dies (Linux only)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the keeper died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _fork_http_server(run_http: Callable[[], None]) -> int:
    keeper = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        name_process("kz-http")
        _end_with_parent(keeper)
        run_http()
        code = 0
    except SystemExit as exit_:  # gunicorn exits with sys.exit(code)
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException as error:  # noqa: BLE001 - reported, and the keeper stops the server
        print(f"kazdata: the HTTP server failed: {error!r}", file=sys.stderr, flush=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def keep(run_http: Callable[[], None], service=None) -> int:
    """Run ``run_http`` in a child process and keep ``service`` (a ``QueryService``) alive
    beside it until the HTTP server exits; returns the HTTP server's exit code."""
    watched = {signal.SIGCHLD, *FORWARDED}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    http = _fork_http_server(run_http)
    kill_at = None
    code = 1
    try:
        while True:
            pid, status = os.waitpid(http, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                code = code if code >= 0 else 128 - code  # killed by a signal: as a shell reports it
                break
            if service is not None and kill_at is None:
                service.keep_running()
            if kill_at is not None and time.monotonic() > kill_at:
                log.error("the HTTP server did not stop within %.0f s; killing it", STOP_TIMEOUT)
                os.kill(http, signal.SIGKILL)
            info = signal.sigtimedwait(watched, POLL_INTERVAL)
            if info is not None and info.si_signo in FORWARDED:
                os.kill(http, info.si_signo)
                if info.si_signo != signal.SIGHUP and kill_at is None:
                    kill_at = time.monotonic() + STOP_TIMEOUT
    finally:
        if service is not None:
            service.stop()
    return code
