"""One WSGI call made from an RSGI server: the environ built from granian's RSGI scope, and the
app's answer collected on a thread into a ``Reply`` the event loop can send.

The environ has what granian's own WSGI interface puts there (granian 2.8 ``wsgi.py`` and its
Rust scope), so the unchanged Flask app sees the same request: the path percent-decoded and
carried as latin-1 (PEP 3333), repeated headers joined with ``,``. One difference is granian's:
the RSGI path is decoded as UTF-8, so bytes that are not UTF-8 (``%FF``) arrive as U+FFFD; no
kazdata URL holds them, and such a request gets the same 404 either way.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from werkzeug.http import parse_content_range_header
from werkzeug.wsgi import FileWrapper

#: bytes gathered on the thread before the loop sends them: one executor round trip per batch
BATCH = 65536
#: what every request's environ starts from (granian's WSGI interface puts the same)
_BASE = {"GATEWAY_INTERFACE": "CGI/1.1", "SCRIPT_NAME": "", "SERVER_SOFTWARE": "Granian",
         "wsgi.errors": sys.stderr, "wsgi.input_terminated": True, "wsgi.multiprocess": False,
         "wsgi.multithread": True, "wsgi.run_once": False, "wsgi.version": (1, 0)}
_UNPREFIXED = {"CONTENT_TYPE", "CONTENT_LENGTH"}


class FileToSend(FileWrapper):
    """What ``wsgi.file_wrapper`` wraps an open file in: Werkzeug's ``send_file`` does, and the
    bridge hands a file on disk to granian (``response_file``) instead of reading it in Python."""


class FilesWrapped(list):
    """One request's ``wsgi.file_wrapper``: wraps each file in a ``FileToSend`` and remembers it.

    A 206 answer is that wrapper inside Werkzeug's own range wrapper, a private class; knowing
    which file the request wrapped, the bridge finds the range in the public ``Content-Range``
    header instead of in that class's attributes."""

    def __call__(self, file: Any, buffer_size: int = 8192) -> FileToSend:
        wrapped = FileToSend(file, buffer_size)
        self.append(wrapped)
        return wrapped


def environ_for(scope: Any, body: bytes) -> dict:
    """The WSGI environ of an RSGI request whose body (already read) is ``body``."""
    server_name, _, server_port = scope.server.rpartition(":")
    environ = _BASE | {
        "REQUEST_METHOD": scope.method,
        "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.query_string.encode("utf-8").decode("latin-1"),
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "SERVER_NAME": server_name, "SERVER_PORT": server_port,
        "REMOTE_ADDR": scope.client.rpartition(":")[0].strip("[]"),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.file_wrapper": FilesWrapped(),
    }
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        if key not in _UNPREFIXED:
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


@dataclass
class Reply:
    """A WSGI answer ready for the loop: a whole body, or a first batch and the rest to stream,
    or a file on disk (with its byte range, end exclusive, for a 206)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    rest: Iterator[bytes] | None = None
    file: tuple[str, int | None, int | None] | None = None
    close: Callable[[], None] = lambda: None


class _Started:
    status = 500
    headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
        self.status, self.headers = int(status.split(" ", 1)[0]), headers
        return lambda data: None  # the legacy write(): nothing in kazdata calls it


def call_app(app: Callable, environ: dict) -> Reply:
    """Run ``app`` for ``environ`` (on a pool thread) and gather its answer."""
    started = _Started()
    iterable = app(environ, started)
    close = getattr(iterable, "close", lambda: None)
    try:
        file = _file_on_disk(iterable, environ, started)
        if file is not None:
            close()
            return Reply(started.status, started.headers, file=file)
        rest = iter(iterable)
        body, more = next_batch(rest)
    except BaseException:
        close()
        raise
    if not more:
        close()
        return Reply(started.status, started.headers, body)
    return Reply(started.status, started.headers, body, rest, close=close)


def next_batch(chunks: Iterator[bytes]) -> tuple[bytes, bool]:
    """Up to about ``BATCH`` bytes from ``chunks``, and whether more may follow."""
    batch, size = [], 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH:
            return b"".join(batch), True
    return b"".join(batch), False


def _file_on_disk(iterable: Any, environ: dict, started: _Started) -> tuple[str, int | None, int | None] | None:
    """(path, start, end) when ``iterable`` is a file on disk sent whole or as one range: the one
    file the request wrapped, with the 206's ``Content-Range`` (Werkzeug sends one range at most;
    a HEAD's 206 has no body to send)."""
    start = end = None
    if not isinstance(iterable, FileToSend):
        wrapped = environ.get("wsgi.file_wrapper")
        if started.status != 206 or environ["REQUEST_METHOD"] == "HEAD" or \
                not isinstance(wrapped, FilesWrapped) or len(wrapped) != 1:
            return None
        sent = parse_content_range_header(_header(started.headers, "Content-Range"))
        if sent is None or sent.start is None or sent.stop is None:
            return None
        iterable, start, end = wrapped[0], sent.start, sent.stop
    if isinstance(getattr(iterable.file, "name", None), str):
        return iterable.file.name, start, end
    return None


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name.lower()), None)
