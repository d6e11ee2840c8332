"""The app under granian's RSGI interface: request bodies awaited against a deadline, documents
answered in the event loop, everything else run by the unchanged Flask app on a bounded pool.

Under granian's WSGI interface a body is read by a blocking call in Rust that nothing in Python
can time out, so a client that stalls mid-body holds its connection and a thread for as long as
it likes (decision 013). Here the body is awaited in the event loop under ``asyncio.timeout``
(``body_timeout`` for the whole body): a late one gets ``408`` with ``Connection: close``,
written here without Flask, and holds no thread while it is awaited. At most ``threads // 2``
requests with a body are in at once per worker, as under WSGI (``BodyGate``); the next gets the
same ``429``. A plain ``GET /doc/`` whose bytes are in memory is answered in the loop itself
(``answer_document``, the code ``FastDocuments`` runs under WSGI); every other request, with its
body read, runs the Flask app on a pool of ``threads`` threads (``call_app``), and its answer
goes back by ``response_bytes``, ``response_file`` (a release file: granian sends it) or
``response_stream`` (batches fetched on the pool, so a slow reader holds no thread; but granian
2.8's ``send_bytes`` does not wait for the client, so a streamed answer, a SPARQL result past
64 kB, is taken from its query process at once and buffered by granian, up to ``result_bytes``
per response, where WSGI would wait for the reader). Decision 022 has the measurements and
why this is not the default.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flask import Flask
from granian.rsgi import ProtocolClosed

from kazdata.web.documents import answer_document
from kazdata.web.request_body import BODIES_REFUSED, BODIES_REFUSED_HEADERS, has_body, late_body_answer
from kazdata.web.resources import SERVED, Resources
from kazdata.web.thread_pool import ThreadPool
from kazdata.web.wsgi_calls import Reply, call_app, environ_for, next_batch


class RsgiBridge:
    """granian's RSGI application (``__rsgi__``) around the WSGI app ``flask_app``."""

    def __init__(self, flask_app: Flask) -> None:
        self.flask_app = flask_app
        self.resources: Resources = flask_app.extensions["kazdata"]
        settings = self.resources.settings
        self.pool = ThreadPool(settings.threads, "kz-web")
        self.body_slots = max(1, settings.threads // 2)
        self.body_seconds = settings.body_timeout
        self.max_body = settings.max_body

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return  # no websockets (granian is started with them off)
        environ = environ_for(scope, b"")
        if not has_body(environ):
            await self.answer(environ, protocol)
            return
        if self.body_slots == 0:
            protocol.response_bytes(429, BODIES_REFUSED_HEADERS, BODIES_REFUSED)
            return
        self.body_slots -= 1
        try:
            if await self.read_body(environ, protocol):
                await self.answer(environ, protocol)
            else:
                headers, body = late_body_answer(self.body_seconds)
                protocol.response_bytes(408, headers, body)
        finally:
            self.body_slots += 1

    async def read_body(self, environ: dict, protocol: Any) -> bool:
        """Await the body (all of it within ``body_timeout``) and put it in ``environ``; False
        when it was late or cut short. A body announced or found larger than ``max_body`` is
        handed on as far as read, with its length, for Flask's 413."""
        length = environ.get("CONTENT_LENGTH", "").strip()
        expected = int(length) if length.isdigit() else None
        if expected is not None and expected > self.max_body:
            return True  # the environ's input is empty: Flask refuses by the announced length
        chunks, received = [], 0
        try:
            async with asyncio.timeout(self.body_seconds):
                async for chunk in protocol:
                    chunks.append(chunk)
                    received += len(chunk)
                    if received > self.max_body:
                        break
        except TimeoutError:
            return False
        if expected is not None and received < expected:
            return False  # the client went away mid-body
        environ["wsgi.input"].write(b"".join(chunks))
        environ["wsgi.input"].seek(0)
        environ["CONTENT_LENGTH"] = str(received)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return True

    async def answer(self, environ: dict, protocol: Any) -> None:
        """A document from memory here, anything else from the Flask app on the pool."""
        served = self.resources.peek()
        if served is not None and environ["PATH_INFO"].startswith("/doc/"):
            environ[SERVED] = served
            document = answer_document(environ, served, may_render=False)
            if document is not None:
                status, headers, body = document
                protocol.response_bytes(int(status[:3]), headers, body)
                return
        # cancelled, the call goes on on its thread: its answer (a query's connection, the app's
        # teardown) is closed when it comes, not dropped unclosed
        reply = await self.pool.run(call_app, self.flask_app, environ, abandoned=self._close_reply)
        await self.send(reply, protocol)

    def _close_reply(self, reply: Reply | None) -> None:
        if reply is not None:
            self.pool.run(reply.close)

    async def send(self, reply: Reply, protocol: Any) -> None:
        if reply.file is not None:
            path, start, end = reply.file
            if start is None or end is None:
                protocol.response_file(reply.status, reply.headers, path)
            else:
                protocol.response_file_range(reply.status, reply.headers, path, start, end)
            return
        if reply.rest is None:
            protocol.response_bytes(reply.status, reply.headers, reply.body)
            return
        transport = protocol.response_stream(reply.status, reply.headers)
        batch: asyncio.Future | None = None
        try:
            chunk, more = reply.body, True
            while True:
                if chunk:
                    await transport.send_bytes(chunk)
                if not more:
                    break
                # cancelled while a thread reads the answer on, the answer is closed once that
                # thread is done: from another thread meanwhile, a generator refuses to close
                # ("generator already executing") and stays open
                batch = self.pool.run(next_batch, reply.rest, abandoned=lambda _: self._close_reply(reply))
                chunk, more = await batch
        except ProtocolClosed:
            pass  # the client went away: nothing to tell anyone, the answer's source is closed below
        finally:
            if batch is None or not batch.cancelled():
                await self.pool.run(reply.close)


def production_rsgi() -> RsgiBridge:
    """granian's RSGI workers call this (``kazdata serve --server granian-rsgi``)."""
    from kazdata.web.wsgi import production_app
    return RsgiBridge(production_app())
