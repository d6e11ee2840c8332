"""Run the app under a production server (gunicorn by default, or granian), or Flask's dev server.

Before the HTTP server starts, the query supervisor is forked (``kazdata.backends.supervisor``):
SPARQL runs in its killable query processes, so the web workers never run a query themselves
and are never replaced because of one. The server is chosen by measurement
(docs/decisions/005-production-server.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from kazdata import bundled
from kazdata.checksums import CHECKSUMS
from kazdata.errors import ReleaseError


def ensure_release(settings: dict) -> None:
    """Build the bundled dataset first when the release directory does not exist yet."""
    release = Path(settings["release"])
    if (release / CHECKSUMS).is_file():
        return
    if release.exists() and any(release.iterdir()):
        raise ReleaseError(f"{release} exists but is not a kazdata release; refusing to overwrite it")
    from kazdata.build import build_release
    print(f"kazdata: no release at {release}; building the bundled dataset first", file=sys.stderr)
    build_release(release, sources_dir=settings["sources"] or bundled.sources_dir(), base=settings["base"])


def gunicorn_options(settings: dict) -> dict:
    return {
        "bind": f"{settings['host']}:{settings['port']}",
        "workers": settings["workers"],
        "threads": settings["threads"],
        "worker_class": "gthread",
        "preload_app": True,
        # a worker being stopped (shutdown, restart) has this long to finish its requests
        "graceful_timeout": 5,
        "timeout": max(30, int(settings["query_timeout"] * 3)),
        "keepalive": 5,
        "backlog": 2048,
        "limit_request_line": 8190,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }


def run_granian(settings: dict, service=None) -> None:
    """Granian's workers load ``kazdata.web.wsgi:production_app`` with the settings exported.

    Granian's master is not Python code we can hook, so a query supervisor that dies is not
    restarted under granian (its query processes are, by the supervisor); see decision 005.
    """
    import os

    from granian import Granian
    from granian.constants import Interfaces
    from kazdata.config import SETTINGS
    from kazdata.web.wsgi import QUERY_SOCKET_ENV
    for setting in SETTINGS:
        value = settings[setting.name]
        if value is not None:
            os.environ[setting.env] = (",".join(value) if isinstance(value, tuple) else
                                       str(value).lower() if isinstance(value, bool) else str(value))
    if settings.get("query_socket"):
        os.environ[QUERY_SOCKET_ENV] = settings["query_socket"]
    Granian("kazdata.web.wsgi:production_app", factory=True, interface=Interfaces.WSGI,
            address=settings["host"], port=settings["port"], workers=settings["workers"],
            blocking_threads=settings["threads"], backlog=2048, websockets=False,
            respawn_failed_workers=True, respawn_interval=0.1, workers_kill_timeout=5,
            log_level="warning").serve()


def run_gunicorn(settings: dict, service=None) -> None:
    from gunicorn.app.base import BaseApplication
    from gunicorn.arbiter import Arbiter

    from kazdata.web import create_app

    class KazdataArbiter(Arbiter):
        """Gunicorn's master, which also restarts the query supervisor should it die: the master
        is single-threaded, so it can fork safely, and it already wakes about once a second."""

        def manage_workers(self) -> None:
            super().manage_workers()
            if service is not None:
                service.keep_running()

    class KazdataServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(settings)

        def run(self) -> None:
            KazdataArbiter(self).run()

    KazdataServer().run()


#: server name -> how to run the app under it (setting ``server``)
SERVERS = {"granian": run_granian, "gunicorn": run_gunicorn}


def serve(settings: dict, *, dev: bool = False) -> int:
    from kazdata.release import Release, release_stamp
    ensure_release(settings)
    # refuse a broken release with a clear message; the app and the query supervisor then skip
    # verifying this same release again (hashing it is most of the start-up time at 10^6 triples)
    stamp = release_stamp(settings["release"])
    opened = Release(stamp[0], verify=settings["verify"])
    settings = {**settings, "verified": stamp, "opened_release": opened}
    if dev:
        from kazdata.web import create_app
        create_app(settings).run(host=settings["host"], port=settings["port"], threaded=True)
        return 0
    service = None
    if settings["backend"] != "remote" and settings["query_processes"] > 0:
        from kazdata.backends.supervisor import QueryService
        service = QueryService.start(settings)
        settings = {**settings, "query_socket": service.socket_path}
    print(f"kazdata: serving {settings['release']} on http://{settings['host']}:{settings['port']}/ "
          f"under {settings['server']} with {settings['workers']} workers x {settings['threads']} threads; "
          f"SPARQL on the {settings['backend']} backend"
          + (f" in {settings['query_processes']} query processes" if service else ""),
          file=sys.stderr, flush=True)
    try:
        SERVERS[settings["server"]](settings, service)
    finally:
        if service is not None:
            service.stop()
    return 0
