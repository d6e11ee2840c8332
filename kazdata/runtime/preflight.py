"""What ``kazdata serve`` checks before it starts anything, so a setting it cannot use is one
line on stderr and exit status 1, never a half-started server or a traceback.

The port check matters because granian binds with ``SO_REUSEPORT``: a second server on a taken
port would start and take a share of the connections (two ``kazdata serve --port 5000`` answered
4 and 8 of 12 requests). A bind without ``SO_REUSEPORT`` fails while any other socket listens on
the port, whoever holds it, and says so before the Rust side can print its backtrace. Between
this check and granian's bind is a window of a few hundred milliseconds; two servers started in
the same instant can still both pass it.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from kazdata.errors import KazdataError
from kazdata.settings import Settings


class ServeRefused(KazdataError):
    """A setting ``kazdata serve`` cannot start with; the message says which and why."""

    title = "Server not started"


def check_port(host: str, port: int) -> None:
    """Return when ``host:port`` can be listened on; ServeRefused naming the port otherwise."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ServeRefused(f"cannot listen on {host}:{port}: {error.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ServeRefused(f"port {port} on {host} is already in use by another server; refusing to "
                                   "start beside it (stop that one, or choose another --port)") from None
            raise ServeRefused(f"cannot listen on {host}:{port}: {error.strerror}") from None


def check_release_path(release: Path, *, build_missing: bool) -> None:
    """A release to serve must be a folder; a missing one is built only when asked
    (``python server.py``), so a mistyped ``--release`` is an error, not a new release."""
    if release.is_dir():
        return
    if release.exists():
        raise ServeRefused(f"--release {release} is a file, not a release folder")
    if not build_missing:
        raise ServeRefused(f"no release at {release}: build one with `kazdata build {release}`, "
                           "or run `python server.py`, which builds the bundled dataset first")


def check_query_processes(settings: Settings, *, dev: bool) -> None:
    """``--query-processes 0`` runs SPARQL in the web workers' threads, where nothing can kill a
    runaway query: fine on a developer's machine, refused under a production server."""
    if settings.query_processes == 0 and not dev and settings.backend != "remote":
        raise ServeRefused("--query-processes 0 evaluates SPARQL in the web workers, where a runaway "
                           "query cannot be stopped: it is for development only (add --dev)")


def preflight(settings: Settings, *, dev: bool, build_missing: bool) -> None:
    """Every check, in the order an operator would fix them."""
    check_release_path(settings.release, build_missing=build_missing)
    check_query_processes(settings, dev=dev)
    check_port(settings.host, settings.port)
