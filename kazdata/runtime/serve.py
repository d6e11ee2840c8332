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

from kazdata.runtime.http_servers import HTTP_SERVERS
from kazdata.settings import Settings
from kazdata.sources import bundled


def ensure_release(settings: Settings) -> None:
    """Build a release from the sources first when the release directory does not exist yet
    (``python server.py``, a newcomer's one command); says where it writes it."""
    release = settings.release
    if release.exists():
        return
    from kazdata.builder import build_release
    sources = bundled.choose_sources(settings.sources)
    print(f"kazdata: no release at {release.resolve()}; building one there first from the {sources}",
          file=sys.stderr, flush=True)
    build_release(release, sources_dir=sources.path, base=settings.base)


def serve(settings: Settings, *, dev: bool = False, build_missing: bool = False) -> int:
    """Check every setting (``preflight``), then serve ``settings.release``; with
    ``build_missing``, build it first if it does not exist."""
    from kazdata.release.opened import OpenedRelease
    from kazdata.runtime.preflight import preflight
    from kazdata.runtime.server_logs import log_errors, shape_note
    reservation = preflight(settings, dev=dev, build_missing=build_missing)  # open until we return
    log_errors()
    ensure_release(settings)
    # refuse a broken release with a clear message; the app and the query supervisor then skip
    # verifying this same release again (hashing it is most of the start-up time at 10^6 triples)
    opened = OpenedRelease.open(settings.release, settings.verify)
    if dev:
        from kazdata.web.app import create_app
        reservation.close()  # Werkzeug binds without SO_REUSEPORT, so it could not bind beside it
        create_app(settings, opened=opened).run(host=settings.host, port=settings.port, threaded=True)
        return 0
    service = None
    from kazdata.runtime.keeper import FORWARDED, keep
    # a stop signal while the supervisor loads the release ends the start, cleaning up; the
    # keeper then takes the signals over
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    app_options: dict = {"opened": opened}
    if settings.backend != "remote" and settings.query_processes > 0:
        from kazdata.runtime.query_service import QueryService
        service = QueryService.start(settings, opened=opened)
        app_options["query_socket"] = service.socket_path
    print(f"kazdata: serving {settings.release} on http://{settings.host}:{settings.port}/ "
          f"under {settings.server} with {settings.workers} workers x {settings.threads} threads; "
          f"SPARQL on the {settings.backend} backend"
          + (f" in {settings.query_processes} query processes" if service else ""),
          file=sys.stderr, flush=True)
    note = shape_note(settings.server, settings.workers, settings.threads)
    if note:
        print(note, file=sys.stderr, flush=True)
    with reservation:  # granian and gunicorn bind with SO_REUSEPORT beside it
        return keep(lambda: HTTP_SERVERS[settings.server].run(settings, app_options), service)
