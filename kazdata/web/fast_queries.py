"""SPARQL queries answered before Flask's router, as ``FastDocuments`` answers documents.

Flask's routing, request and response objects, hooks and error handling cost about as much as
a light query itself (issue 20: ``ASK {}`` took 1.9 ms where Oxigraph's server takes 0.23 ms).
``FastQueries`` answers ``GET``/``POST /sparql`` with a query that a client (not a browser)
sends: it reads the protocol with the same function as Flask's view
(``kazdata.web.sparql.read_protocol``), negotiates with the same one, sends the client's
address with the query as the view does (its query supervisor caps each client), and sends the
same headers; the answer's bytes are relayed as the query process wrote
them. Everything else goes to Flask unchanged: other methods and URLs, a URL past the length
limit, a request without a query (the service description, the query page), a browser's, a
body not sent with Content-Length, and every request when the store is remote (its rows are
written by Flask's view). A request that fails on the way (a 400, 403, 406, 429,
503...) is handed to Flask as a refusal (``kazdata.web.request_body.refuse``), whose error
handler renders it as for every other route, so the query never runs twice.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Hashable

from werkzeug.datastructures import MIMEAccept

from kazdata.errors import KazdataError
from kazdata.http_contract import MAX_URL_LENGTH, SECURITY_HEADERS
from kazdata.sparql.answers import Answer
from kazdata.sparql.policy import QueryRequest
from kazdata.web.negotiation import parse_accept
from kazdata.web.request_body import REFUSAL, refuse
from kazdata.web.resources import SERVED, Resources
from kazdata.web.result_files import BOM, DOWNLOAD
from kazdata.web.sparql import PAIRS_LONGEST, answer_headers, endpoint_url, query_timeout, read_protocol, wants_html

PATH = "/sparql"
_TAKEN = ("application/x-www-form-urlencoded", "application/sparql-query")
#: Accept headers parsed, remembered (a few values make nearly all traffic); longer ones are not kept
_ACCEPTS: dict[Hashable, MIMEAccept] = {}
_ACCEPTS_KEPT = 256
_ACCEPT_LONGEST = 512


#: the protocol's reading of a request (``read_protocol``), remembered by everything it depends
#: on: clients repeat the same requests, and reading one (its parameters, both negotiations)
#: is half of this layer's Python (issue 20: CPU per request). Only requests of at most
#: ``PAIRS_LONGEST`` bytes of parameters; a refusal is raised, never kept.
_READINGS: dict[tuple, tuple[QueryRequest | None, dict[str, list[str]]]] = {}


def _read(method: str, query_string: str, media_type: str, body: bytes, accept_header: str | None,
          base_iri: str, client: str) -> tuple[QueryRequest | None, dict[str, list[str]]]:
    """``read_protocol``'s answer for this request, read once per distinct request; the
    parameters returned are shared, so they are only ever read."""
    key = (method, query_string, media_type, body, accept_header, base_iri, client)
    reading = _READINGS.get(key)
    if reading is None:
        reading = read_protocol(method, query_string.encode("latin-1"), media_type, lambda: body,
                                _accept(accept_header), base_iri, client)
        if len(query_string) + len(body) <= PAIRS_LONGEST:
            if len(_READINGS) >= _ACCEPTS_KEPT:
                _READINGS.clear()
            _READINGS[key] = reading
    return reading


def _accept(header: str | None) -> MIMEAccept:
    accept = _ACCEPTS.get(header)
    if accept is None:
        accept = parse_accept(header)
        if header is None or len(header) <= _ACCEPT_LONGEST:
            if len(_ACCEPTS) >= _ACCEPTS_KEPT:
                _ACCEPTS.clear()
            _ACCEPTS[header] = accept
    return accept


class FastQueries:
    """WSGI layer answering protocol queries; everything else goes to ``app`` (Flask)."""

    def __init__(self, app: Callable, resources: Resources) -> None:
        self.app = app
        self.resources = resources

    def __call__(self, environ: dict, start_response: Callable):
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") != PATH or method not in ("GET", "POST") or REFUSAL in environ:
            return self.app(environ, start_response)
        query_string = environ.get("QUERY_STRING", "")
        if len(environ.get("RAW_URI") or PATH + "?" + query_string) > MAX_URL_LENGTH:
            return self.app(environ, start_response)
        accept = _accept(environ.get("HTTP_ACCEPT"))
        if wants_html(accept):
            return self.app(environ, start_response)
        media_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        body = b""
        if method == "POST":
            length = environ.get("CONTENT_LENGTH", "").strip()
            if media_type not in _TAKEN or not length.isdigit() or int(length) > self.resources.settings.max_body:
                return self.app(environ, start_response)  # Flask refuses or reads it
            body = environ["wsgi.input"].read(int(length))
            environ["wsgi.input"] = io.BytesIO(body)  # for Flask, should it be handed on
        served = environ.get(SERVED) or self.resources.served()
        environ[SERVED] = served
        settings = self.resources.settings
        try:
            query, params = _read(method, query_string, media_type, body, environ.get("HTTP_ACCEPT"),
                                  endpoint_url(settings, served.release), environ.get("REMOTE_ADDR") or "")
            if query is None or DOWNLOAD in params or BOM in params:
                return self.app(environ, start_response)  # "no query", and files for people, are Flask's
            timeout = query_timeout(params)
            with self.resources.client_queries.admit(query.client, timeout):
                answer = served.engine.query(query, timeout=timeout)
            assert isinstance(answer, Answer)  # the embedded stores' (no fast path for a remote store)
        except KazdataError as error:
            refuse(environ, error)
            return self.app(environ, start_response)
        start_response("200 OK", [*answer_headers(answer, method, settings.result_limit), *SECURITY_HEADERS])
        # a whole answer as a list: granian writes a list in one call from Rust; any other
        # iterable it iterates from Python, taking the GIL back per piece (and calling close)
        return list(answer.pieces) if isinstance(answer.pieces, tuple) else answer.pieces

