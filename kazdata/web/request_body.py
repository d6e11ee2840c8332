"""At most half of a worker's threads may wait for request bodies, for a bounded time, so slow
senders cannot freeze the routes that need none.

granian's WSGI workers read a body with a blocking call on one of the worker's few Python
threads, and neither granian 2.8 (it bounds only the headers) nor WSGI lets that read time out:
40 connections that announced 100 kB, sent three bytes and stopped held every thread and froze
every route, ``/doc/`` included (issue 15). Reading the body on a thread of our own and
answering 408 was tried and measured: the read blocks inside granian's runtime, the
connection stays open until the client goes, and other responses of the worker stalled
behind it, so that is not done. ``BodyGate`` sits in front of Flask and lets at most ``slots``
requests with a body per worker in at once; the next gets ``429`` with ``Retry-After`` at once,
without its body being read, and the connection is closed. Requests without a body (every
document, every GET query) always find a free thread. docs/decisions/005 has the figures.

Where the HTTP server gives Python the client's socket (gunicorn, as ``gunicorn.socket``), the
gate also reads the body itself against a deadline (``seconds`` for the whole body, the
socket's timeout set to what is left before each read): a body not there in time gets ``408``,
the connection is closed and the thread is free. granian's WSGI interface gives no socket and
no timeout on its read (decision 013), so there the count above is the bound; behind granian's
RSGI interface the bridge (``kazdata.web.rsgi``) awaits the body against the deadline before
this gate sees the request (decision 022).
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable

from kazdata.errors import KazdataError, RequestTimeout, TooManyRequests
from kazdata.http_contract import CORS_HEADERS, NO_STORE, SECURITY_HEADERS, TEXT_PLAIN, VARY_ACCEPT

#: the WSGI environ key under which a refused request carries its error to Flask
REFUSAL = "kazdata.refusal"
#: where gunicorn puts the client's socket in the environ
GUNICORN_SOCKET = "gunicorn.socket"
#: bytes asked of the server per read of a body
READ_SIZE = 65536
#: The answer to a body past the slots, written here in plain text whatever the Accept header:
#: it is sent at the rate an attacker reconnects (10,000 in 15 s in bench/load.py), and through
#: Flask and its error renderers it cost 1.5 ms of the worker's time each, against ~20 us here.
BODIES_REFUSED = (f"429 {TooManyRequests.title}: too many request bodies are arriving at once; "
                  "try again in a moment\n").encode()


def plain_closing_headers(body: bytes, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    """The headers of an answer this module writes itself: plain text, never stored, and the
    connection closed (the request's body, if any, is left unread)."""
    return [("Content-Type", TEXT_PLAIN), ("Content-Length", str(len(body))), *extra, ("Connection", "close"),
            ("Vary", VARY_ACCEPT), ("Cache-Control", NO_STORE), *CORS_HEADERS, *SECURITY_HEADERS]


BODIES_REFUSED_HEADERS = plain_closing_headers(BODIES_REFUSED, ("Retry-After", "1"))


def late_body_answer(seconds: float) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and body of the ``408`` to a body not there within ``seconds``, in plain text
    like ``BODIES_REFUSED`` and for the same reason: it is written where an event loop awaited
    the body (``kazdata.web.rsgi``), at whatever rate an attacker stalls."""
    body = f"408 {RequestTimeout.title}: the request body did not arrive within {seconds:g} s\n".encode()
    return plain_closing_headers(body), body


class BodyGate:
    """WSGI layer: at most ``slots`` requests of this worker may be reading a body at once, and
    where the socket is known, for at most ``seconds``."""

    def __init__(self, app: Callable, *, slots: int, seconds: float = 10.0, max_body: int = 1_000_000) -> None:
        self.app = app
        self.slots = threading.BoundedSemaphore(max(1, slots))
        self.seconds = seconds
        self.max_body = max_body

    def __call__(self, environ: dict, start_response: Callable):
        if not has_body(environ):
            return self.app(environ, start_response)
        if not self.slots.acquire(blocking=False):
            start_response("429 Too Many Requests", BODIES_REFUSED_HEADERS)
            return [BODIES_REFUSED]
        try:  # Flask reads the body while the view runs, before it returns
            client = environ.get(GUNICORN_SOCKET)
            if isinstance(client, socket.socket):
                self.read_by_deadline(environ, client)
            return self.app(environ, start_response)
        finally:
            self.slots.release()

    def read_by_deadline(self, environ: dict, client: socket.socket) -> None:
        """Read the whole body now, within ``seconds``, and hand it to Flask from memory; a body
        larger than ``max_body`` is left to Flask's 413, a late one becomes a 408 refusal."""
        length = environ.get("CONTENT_LENGTH", "").strip()
        expected = int(length) if length.isdigit() else None
        if expected is not None and expected > self.max_body:
            return
        deadline, chunks, received = time.monotonic() + self.seconds, [], 0
        previous = client.gettimeout()
        try:
            while expected is None or received < expected:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                client.settimeout(left)
                chunk = environ["wsgi.input"].read(READ_SIZE if expected is None else min(READ_SIZE, expected - received))
                if not chunk:
                    break
                chunks.append(chunk)
                received += len(chunk)
                if received > self.max_body:
                    break
        except OSError:  # TimeoutError included: late, or the client went away mid-body
            refuse(environ, RequestTimeout(f"the request body did not arrive within {self.seconds:g} s",
                                           headers={"Connection": "close"}))
            return
        finally:
            client.settimeout(previous)
        environ["wsgi.input"] = io.BytesIO(b"".join(chunks))
        environ["CONTENT_LENGTH"] = str(received)
        environ.pop("HTTP_TRANSFER_ENCODING", None)


def has_body(environ: dict) -> bool:
    """Whether the request announces a body (a length other than 0, or chunked)."""
    length = environ.get("CONTENT_LENGTH", "").strip()
    return (bool(length) and length != "0") or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


def refuse(environ: dict, error: KazdataError) -> None:
    """Hand ``error`` to Flask, whose error handler renders it like any other (``raise_refusal``);
    the body is never read."""
    environ[REFUSAL] = error
    environ["wsgi.input"] = io.BytesIO(b"")
    environ["CONTENT_LENGTH"] = "0"
    environ.pop("HTTP_TRANSFER_ENCODING", None)


def raise_refusal() -> None:
    """Flask ``before_request`` hook: raise the refusal ``BodyGate`` decided, if any."""
    from flask import request
    error = request.environ.get(REFUSAL)
    if error is not None:
        raise error
