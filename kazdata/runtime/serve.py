"""Run the app under a production server (granian by default, or gunicorn), or Flask's dev server.

``kazdata serve`` forks the query supervisor (``kazdata.runtime.query_service``): SPARQL runs in
its killable query processes, so the web workers never run a query themselves and are never
replaced because of one. It then forks the HTTP server and stays as their keeper
(``kazdata.runtime.keeper``), which restarts a supervisor that dies, or starts one for a new
release, under either server. The server
is chosen by measurement (docs/decisions/005-production-server.md).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from kazdata.errors import ReleaseError
from kazdata.release.checksums import CHECKSUMS
from kazdata.sources import bundled


def ensure_release(settings: dict) -> None:
    """Build the bundled dataset first when the release directory does not exist yet."""
    release = Path(settings["release"])
    if (release / CHECKSUMS).is_file():
        return
    if release.exists() and any(release.iterdir()):
        raise ReleaseError(f"{release} exists but is not a kazdata release; refusing to overwrite it")
    from kazdata.builder import build_release
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


def run_granian(settings: dict) -> None:
    """Granian's workers load ``kazdata.web.wsgi:production_app`` with the settings exported."""
    import os

    from granian import Granian
    from granian.constants import Interfaces

    from kazdata.settings import SETTINGS
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


def run_gunicorn(settings: dict) -> None:
    from gunicorn.app.base import BaseApplication

    from kazdata.web import create_app

    class KazdataServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(settings)

    KazdataServer().run()


#: server name -> how to run the app under it (setting ``server``)
SERVERS = {"granian": run_granian, "gunicorn": run_gunicorn}


def serve(settings: dict, *, dev: bool = False) -> int:
    from kazdata.release.opened import Release, release_stamp
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
    from kazdata.runtime.keeper import FORWARDED, keep
    # a stop signal while the supervisor loads the release ends the start, cleaning up; the
    # keeper then takes the signals over
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    if settings["backend"] != "remote" and settings["query_processes"] > 0:
        from kazdata.runtime.query_service import QueryService
        service = QueryService.start(settings)
        settings = {**settings, "query_socket": service.socket_path}
    print(f"kazdata: serving {settings['release']} on http://{settings['host']}:{settings['port']}/ "
          f"under {settings['server']} with {settings['workers']} workers x {settings['threads']} threads; "
          f"SPARQL on the {settings['backend']} backend"
          + (f" in {settings['query_processes']} query processes" if service else ""),
          file=sys.stderr, flush=True)
    return keep(lambda: SERVERS[settings["server"]](settings), service)
