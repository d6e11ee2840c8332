"""What ``kazdata serve`` checks before it starts anything, so a setting it cannot use is one
line on stderr and exit status 1, never a half-started server or a traceback.

The port check matters because granian binds with ``SO_REUSEPORT``: a second server on a taken
port would start and take a share of the connections (two ``kazdata serve --port 5000`` answered
4 and 8 of 12 requests). A bind without ``SO_REUSEPORT`` fails while any other socket listens on
the port, whoever holds it, and says so before the Rust side can print its backtrace.

The check leaves the port reserved (``reserve_port``) until the server ends, so no second
server can pass its own check in the time between this one's check and granian's bind (a few
hundred milliseconds to seconds: the query processes start in between).
"""

from __future__ import annotations

import ctypes
import errno
import socket
from pathlib import Path

from kazdata.errors import KazdataError
from kazdata.settings import Settings


class ServeRefused(KazdataError):
    """A setting ``kazdata serve`` cannot start with; the message says which and why."""

    title = "Server not started"


def reserve_port(host: str, port: int) -> socket.socket:
    """The port, held for this server: a socket bound to ``host:port`` that listens on nothing;
    ServeRefused naming the port when another socket listens there or holds it.

    The socket first listens without ``SO_REUSEPORT`` (that fails while any other socket is bound
    or listening there, ``SO_REUSEADDR`` letting a port in ``TIME_WAIT`` count as free), then
    takes ``SO_REUSEPORT`` instead of ``SO_REUSEADDR`` and stops listening (``connect`` to
    ``AF_UNSPEC``, POSIX's disconnect, keeps the port bound). From then on, Linux lets a socket
    bind there only if it asks for ``SO_REUSEPORT`` as the same user (granian and kazdata's
    gunicorn do); any other program, and the check of a second ``kazdata serve``, is refused. The
    port is never free in between, and a socket that does not listen is handed no connection.
    What it cannot stop: another program of the same user binding with ``SO_REUSEPORT`` (a
    granian started by hand) joins, as it could join any granian.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ServeRefused(f"cannot listen on {host}:{port}: {error.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    reservation = socket.socket(family, kind, proto)
    try:
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
        reservation.bind(address)
        reservation.listen(1)
    except OSError as error:
        reservation.close()
        if error.errno == errno.EADDRINUSE:
            raise ServeRefused(f"port {port} on {host} is already in use by another server; refusing to "
                               "start beside it (stop that one, or choose another --port)") from None
        raise ServeRefused(f"cannot listen on {host}:{port}: {error.strerror}") from None
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    _stop_listening(reservation)
    return reservation


def _stop_listening(listener: socket.socket) -> None:
    """``connect(fd, {AF_UNSPEC}, ...)``: Linux turns a listening TCP socket back into a bound,
    closed one (Python's ``connect`` takes only addresses of the socket's own family)."""
    libc = ctypes.CDLL(None, use_errno=True)
    unspecified = (ctypes.c_ubyte * 128)()  # a sockaddr_storage of zeros: sa_family AF_UNSPEC
    if libc.connect(listener.fileno(), unspecified, ctypes.sizeof(unspecified)) != 0:
        error = ctypes.get_errno()
        listener.close()
        raise ServeRefused(f"cannot hold the port: {errno.errorcode.get(error, error)}")


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


def preflight(settings: Settings, *, dev: bool, build_missing: bool) -> socket.socket:
    """Every check, in the order an operator would fix them; returns the port's reservation
    (``reserve_port``), which the caller keeps open while it serves."""
    check_release_path(settings.release, build_missing=build_missing)
    check_query_processes(settings, dev=dev)
    return reserve_port(settings.host, settings.port)
