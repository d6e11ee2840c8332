"""Run the app under the production server (gunicorn), or Flask's development server.

Gunicorn was chosen over granian by measurement (docs/decisions/005-production-server.md):
it is pure Python from PyPI, lets a worker end itself after a runaway query and be replaced
(the query time limit depends on that), and preloads the release once before forking so that
a replacement worker starts at once and shares the parent's memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kazdata import bundled
from kazdata.errors import ReleaseError


def ensure_release(settings: dict) -> None:
    """Build the bundled dataset first when the release directory does not exist yet."""
    release = Path(settings["release"])
    if (release / "SHA256SUMS").is_file():
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
        # a worker answering a runaway query is told to stop; it has this long to finish others
        "graceful_timeout": 5,
        "timeout": max(30, int(settings["query_timeout"] * 3)),
        "keepalive": 5,
        "backlog": 2048,
        "limit_request_line": 8190,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }


def serve(settings: dict, *, dev: bool = False) -> int:
    from kazdata.release import Release
    from kazdata.web import create_app
    ensure_release(settings)
    Release(settings["release"], verify=settings["verify"])  # refuse a broken release with a clear message
    if dev:
        app = create_app(settings)
        app.run(host=settings["host"], port=settings["port"], threaded=True)
        return 0
    from gunicorn.app.base import BaseApplication

    settings = {**settings, "recycle_on_timeout": True}

    class KazdataServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(settings)

    print(f"kazdata: serving {settings['release']} on http://{settings['host']}:{settings['port']}/ "
          f"with {settings['workers']} gunicorn workers", file=sys.stderr, flush=True)
    KazdataServer().run()
    return 0
