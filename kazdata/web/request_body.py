"""At most half of a worker's threads may wait for request bodies, so slow senders cannot
freeze the routes that need none.

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
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

from kazdata.errors import KazdataError, TooManyRequests

#: the WSGI environ key under which a refused request carries its error to Flask
REFUSAL = "kazdata.refusal"


class BodyGate:
    """WSGI layer: at most ``slots`` requests of this worker may be reading a body at once."""

    def __init__(self, app: Callable, *, slots: int) -> None:
        self.app = app
        self.slots = threading.BoundedSemaphore(max(1, slots))

    def __call__(self, environ: dict, start_response: Callable):
        if not _has_body(environ):
            return self.app(environ, start_response)
        if not self.slots.acquire(blocking=False):
            refuse(environ, TooManyRequests(
                "too many request bodies are arriving at once; try again in a moment",
                headers={"Retry-After": "1", "Connection": "close"}))
            return self.app(environ, start_response)
        try:  # Flask reads the body while the view runs, before it returns
            return self.app(environ, start_response)
        finally:
            self.slots.release()


def _has_body(environ: dict) -> bool:
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
