"""The production HTTP servers ``kazdata serve`` can run the app under: one registry.

Each entry says how to run the app and what shape (workers, threads) it gets by default; the
shapes and the choice of granian as the default were measured (docs/decisions/005).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from kazdata.runtime.processes import name_process
from kazdata.settings import Settings

#: the variable that tells granian's workers where the query processes listen
QUERY_SOCKET_ENV = "KAZDATA_QUERY_SOCKET"
#: the Common Log Format in gunicorn's atoms (host, ident, user, [time], "request", status, bytes)
GUNICORN_COMMON_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s'
#: the release ``kazdata serve`` verified at start, for a granian worker that starts while the
#: pointer names a release that fails to open (``kazdata.web.resources.Resources``)
STARTED_RELEASE_ENV = "KAZDATA_STARTED_RELEASE"


def gunicorn_options(settings: Settings) -> dict:
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "threads": settings.threads,
        # gthread, answering a request line past limit_request_line with kazdata's 414 text
        "worker_class": "kazdata.web.gunicorn_worker.KazdataThreadWorker",
        "preload_app": True,
        # a worker being stopped (shutdown, restart) has this long to finish its requests
        "graceful_timeout": 5,
        "timeout": max(30, int(settings.query_timeout * 3)),
        "keepalive": 5,
        "backlog": 2048,
        "limit_request_line": 8190,
        # beside the port's reservation (kazdata.runtime.preflight.reserve_port), as granian does
        "reuse_port": True,
        "accesslog": settings.access_log,
        "access_log_format": GUNICORN_COMMON_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "warning",
    }


def run_granian(settings: Settings, app_options: dict, rsgi: bool = False) -> None:
    """Granian's workers load ``kazdata.web.wsgi:production_app`` (or, under RSGI, the bridge
    ``kazdata.web.rsgi:production_rsgi`` around it), which reads the settings and the query
    socket back from the environment."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels
    os.environ.update(settings.exported())
    if app_options.get("query_socket"):
        os.environ[QUERY_SOCKET_ENV] = app_options["query_socket"]
    from kazdata.runtime.server_logs import granian_logging
    if app_options.get("opened"):
        os.environ[STARTED_RELEASE_ENV] = app_options["opened"].stamp[0]
    # With setproctitle installed (granian[pname], or brought by another package) granian renames
    # its processes "granian wsgi ..."; named, they stay "kz-http" and "kz-http worker-N" in ps.
    title = "kz-http" if importlib.util.find_spec("setproctitle") else None  # without it, naming is an error
    # under RSGI granian allows one blocking thread (the event loop's); the bridge has its pool
    target, interface, threads = (("kazdata.web.rsgi:production_rsgi", Interfaces.RSGI, 1) if rsgi else
                                  ("kazdata.web.wsgi:production_app", Interfaces.WSGI, settings.threads))
    Granian(target, factory=True, interface=interface,
            address=settings.host, port=settings.port, workers=settings.workers,
            blocking_threads=threads, backlog=2048, websockets=False,
            respawn_failed_workers=True, respawn_interval=0.1, workers_kill_timeout=5,
            log_level=LogLevels.warning, log_dictconfig=granian_logging(settings.access_log),
            log_access=settings.access_log is not None, process_name=title).serve()


def run_gunicorn(settings: Settings, app_options: dict) -> None:
    """gunicorn preloads the app in its master and forks the workers from it."""
    from gunicorn import util
    from gunicorn.app.base import BaseApplication

    from kazdata.web.app import create_app

    class KazdataServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(settings, **app_options)

    # With setproctitle installed, importing gunicorn renames this process and gunicorn retitles
    # its master and workers "gunicorn: ...", with no option to keep the keeper's name: the
    # name is given again and gunicorn's retitling turned off.
    util._setproctitle = lambda title: None
    name_process("kz-http")
    KazdataServer().run()


@dataclass(frozen=True)
class HttpServer:
    """A production server: how to run the app, and its default shape."""

    run: Callable[[Settings, dict], None]
    workers_per_core: int
    at_least: int
    threads: int

    def default_workers(self) -> int:
        return max(self.at_least, self.workers_per_core * (os.cpu_count() or 1))


#: granian: asynchronous I/O, so a thread is held only while Python answers; gunicorn: a slow
#: client holds a gthread thread, hence more of both (decision 005 has the figures)
HTTP_SERVERS: dict[str, HttpServer] = {
    "granian": HttpServer(run_granian, workers_per_core=2, at_least=2, threads=8),
    # the same app behind granian's RSGI interface, where request bodies have a deadline (decision 022)
    "granian-rsgi": HttpServer(partial(run_granian, rsgi=True), workers_per_core=2, at_least=2, threads=8),
    "gunicorn": HttpServer(run_gunicorn, workers_per_core=4, at_least=4, threads=32),
}
