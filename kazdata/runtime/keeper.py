"""The keeper: the process ``kazdata serve`` stays as, parent of the query supervisor and of the HTTP server.

    kazdata serve (keeper)
    ├── query supervisor (kz-query-super) ── query processes (kz-query)
    └── HTTP server's master (kz-http) ───── web workers

Keeping the query supervisor alive is not the HTTP server's job: each server would need its own
hooks for it (granian's master and gunicorn's arbiter are both Python, but with different hooks;
docs/decisions/005), and the supervisor would die with a server being restarted. So ``kazdata
serve`` forks the HTTP server as a child and keeps the two alive side by side: it starts a new
supervisor (``QueryService.keep_running``, which never blocks) whenever the current one dies or
the release changes, and it ends when the HTTP server ends. It is single-threaded and handles
signals synchronously (``sigtimedwait``), so forking from it is always safe.

Shutdown: SIGTERM, SIGINT, SIGHUP and SIGQUIT are passed to the HTTP server, which decides what
they mean (gunicorn: graceful stop, quick stop, reload workers, quick stop); once it has exited,
the keeper ends the supervisor, which ends its query processes, and removes the socket folder.
If the keeper itself is killed, the kernel sends the HTTP server and the supervisor SIGTERM and
the query processes SIGKILL (``PR_SET_PDEATHSIG``), so nothing is orphaned.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kazdata.runtime.processes import Forked, end_with_parent, name_process

if TYPE_CHECKING:
    from kazdata.runtime.query_service import QueryService

log = logging.getLogger("kazdata.web")

#: signals meant for the server as a whole: the HTTP server gets them and decides
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
#: how long the HTTP server has to stop after a forwarded stop signal before it is killed
#: (gunicorn's graceful timeout and granian's workers_kill_timeout are 5 s)
STOP_TIMEOUT = 30.0
#: how often the keeper looks at its children when no signal wakes it
POLL_INTERVAL = 1.0


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
        end_with_parent(keeper, signal.SIGTERM)
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


def keep(run_http: Callable[[], None], service: QueryService | None = None) -> int:
    """Run ``run_http`` in a child process and keep ``service`` alive beside it until the HTTP
    server exits; returns the HTTP server's exit code."""
    watched = {signal.SIGCHLD, *FORWARDED}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    http = Forked(_fork_http_server(run_http))
    kill_at = None
    try:
        while True:
            code = http.poll()
            if code is not None:
                code = code if code >= 0 else 128 - code  # killed by a signal: as a shell reports it
                break
            if service is not None and kill_at is None:
                service.keep_running()
            if kill_at is not None and time.monotonic() > kill_at:
                log.error("the HTTP server did not stop within %.0f s; killing it", STOP_TIMEOUT)
                http.signal(signal.SIGKILL)
            info = signal.sigtimedwait(watched, POLL_INTERVAL)
            if info is not None and info.si_signo in FORWARDED:
                http.signal(info.si_signo)
                if info.si_signo != signal.SIGHUP and kill_at is None:
                    kill_at = time.monotonic() + STOP_TIMEOUT
    finally:
        if service is not None:
            service.stop()
    return code
