"""The SPARQL 1.1 Protocol endpoint at ``/sparql``, its service description and query page.

Protocol parsing and response shaping live here; what may run and how is ``kazdata.sparql.policy``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import parse_qsl

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import RequestEntityTooLarge

from kazdata.entities.pages import template_environment
from kazdata.errors import (
    BadRequest,
    Forbidden,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
)
from kazdata.formats import (
    GRAPH_FORMATS,
    HTML,
    JSON_LD,
    RESULT_FORMATS,
    Format,
    Style,
    by_name,
    rdf_bytes,
)
from kazdata.http_contract import (
    CORS_HEADERS,
    NO_STORE,
    QUERY_CACHE_CONTROL,
    ROUTES,
    VARY_ACCEPT,
)
from kazdata.release.opened import Release
from kazdata.settings import Settings
from kazdata.sparql.answers import CONSTRUCT_FORMATS, SELECT_FORMATS, Answer
from kazdata.sparql.backends import open_backend
from kazdata.sparql.policy import Engine, GraphResult, Policy, QueryRequest, QueryResult
from kazdata.sparql.service_description import service_description
from kazdata.vocabulary import prefixes_for
from kazdata.web.cors import add_cors, preflight
from kazdata.web.negotiation import choose_format, understood
from kazdata.web.resources import served
from kazdata.web.result_files import DOWNLOAD, as_file, refuse_other_kind
from kazdata.web.routes import route

blueprint = Blueprint("sparql", __name__)
FORMAT_PARAMETERS = ("format", "output", "results")
TRUNCATED_HEADER = "X-Kazdata-Truncated"
#: the size of the pieces a streamed result is sent in
PIECE_BYTES = 64 * 1024


def make_engine(settings: Settings, release: Release, query_socket: str | None) -> Engine:
    policy = Policy(timeout=settings.query_timeout, limit=settings.result_limit)
    return Engine(open_backend(settings, release, query_socket), policy)


def _settings() -> Settings:
    return current_app.extensions["kazdata"].settings


#: Query strings and form bodies read, remembered (``_parse_pairs``): at most ``PAIRS_KEPT`` of
#: up to ``PAIRS_LONGEST`` bytes each, about 2 MB per web worker with their pairs.
PAIRS_KEPT = 256
PAIRS_LONGEST = 4096
_PAIRS: dict[bytes, tuple[tuple[str, str], ...]] = {}


def _parse_pairs(raw: bytes, where: str) -> tuple[tuple[str, str], ...]:
    """The name-value pairs of a query string or form body. Remembered per text: clients repeat
    the same queries, and percent-decoding an example query's 1-3 kB costs urllib 20-55 µs, a
    tenth of what a light query costs the web worker (issue 20, 2026-12-04)."""
    pairs = _PAIRS.get(raw)
    if pairs is None:
        try:
            pairs = tuple(parse_qsl(raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict"))
        except UnicodeDecodeError:
            raise BadRequest(f"the {where} is not valid UTF-8 once percent-decoded") from None
        if len(raw) <= PAIRS_LONGEST:
            if len(_PAIRS) >= PAIRS_KEPT:
                _PAIRS.clear()
            _PAIRS[raw] = pairs
    return pairs


def _body() -> bytes:
    """The request body. A chunked body (no Content-Length) longer than the limit is refused with
    413 here: Werkzeug would silently cut it at the limit and the query would run truncated. One
    whose Content-Length is over the limit gets the same message (Werkzeug's names no limit)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    too_long = f"the request body is longer than the {limit} bytes this server accepts"
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(too_long) from None
    if request.content_length is None and limit is not None and len(data) >= limit \
            and request.environ["wsgi.input"].read(1):
        raise PayloadTooLarge(too_long)
    return data


def _protocol_request() -> tuple[QueryRequest | None, dict[str, list[str]]]:
    """Read the query and its parameters the three ways the protocol allows."""
    return read_protocol(request.method, request.query_string, (request.mimetype or "").lower(), _body,
                         request.accept_mimetypes, _base_iri(), request.remote_addr or "")


def read_protocol(method: str, query_string: bytes, media_type: str, body: Callable[[], bytes],
                  accept: MIMEAccept, base_iri: str, client: str) -> tuple[QueryRequest | None, dict[str, list[str]]]:
    """The query and its parameters, read the three ways the protocol allows, from a request's
    parts (Flask's view and the fast path, ``kazdata.web.fast_queries``, both call it);
    ``client`` is the connection's address, which the query carries to the per-client cap."""
    params: dict[str, list[str]] = {}
    for key, value in _parse_pairs(query_string, "query string"):
        params.setdefault(key, []).append(value)
    if method == "POST":
        if media_type == "application/x-www-form-urlencoded":
            for key, value in _parse_pairs(body(), "request body"):
                params.setdefault(key, []).append(value)
        elif media_type == "application/sparql-query":
            try:
                params.setdefault("query", []).append(body().decode("utf-8"))
            except UnicodeDecodeError:
                raise BadRequest("the query in the request body is not valid UTF-8") from None
        elif not media_type and not body():
            pass  # an empty POST: answered below as "no query", the more useful message
        elif media_type == "application/sparql-update":
            raise Forbidden("SPARQL Update is not allowed: this endpoint is read-only")
        else:
            raise BadRequest(f"POST needs Content-Type application/x-www-form-urlencoded or "
                             f"application/sparql-query, not {media_type or 'none'!r}")
    if "update" in params:
        raise Forbidden("SPARQL Update is not allowed: this endpoint is read-only")
    queries = params.get("query", [])
    if len(queries) > 1:
        raise BadRequest(f"{len(queries)} 'query' parameters given; send exactly one")
    if not queries:
        return None, params
    # a .rq file saved by a Windows editor starts with a byte-order mark, which is no part of the
    # query (RFC 3629, section 6) and which Oxigraph would report at a column nobody can see
    query = queries[0].removeprefix("\ufeff")
    if not query.strip():
        raise BadRequest("the 'query' parameter is empty")
    for name in ("default-graph-uri", "named-graph-uri"):
        for value in params.get(name, []):
            try:
                ox.NamedNode(value)
            except ValueError as error:  # else "the query failed", naming neither parameter nor value
                raise BadRequest(f"{name} {value!r} is not an absolute IRI: {error}") from None
    results_format, results_refusal = _format_or_refusal(params, SELECT_FORMATS, accept)
    graph_format, graph_refusal = _format_or_refusal(params, CONSTRUCT_FORMATS, accept)
    return QueryRequest(query, tuple(params.get("default-graph-uri", [])),
                        tuple(params.get("named-graph-uri", [])), base_iri=base_iri,
                        results_format=results_format, graph_format=graph_format,
                        results_refusal=results_refusal, graph_refusal=graph_refusal, client=client), params


def _format_or_refusal(params: dict[str, list[str]], formats: list[Format],
                       accept: MIMEAccept) -> tuple[str | None, str | None]:
    """For one kind of answer: the extension of the format negotiated among ``formats``, or
    None and why none is acceptable. The kind of result (rows or a graph) is
    known only once the query is evaluated, so both are negotiated here and the engine answers in
    the one its kind needs (or a 406 with this reason)."""
    try:
        return requested_format(params, formats, accept).extension, None
    except NotAcceptable as refusal:
        return None, refusal.message


def _base_iri() -> str:
    """The endpoint's public URL, which relative IRIs in a query resolve against (SPARQL 1.1
    Protocol). It comes from ``public_url`` (the setting, else the release's base), never from
    the Host header, which a client sets as it likes."""
    return endpoint_url(_settings(), served().release)


def endpoint_url(settings: Settings, release: Release) -> str:
    return (settings.public_url or release.base).rstrip("/") + ROUTES["sparql"].path


def requested_format(params: dict[str, list[str]], formats: list[Format], accept: MIMEAccept) -> Format:
    """The format a ``format``/``output``/``results`` parameter names among ``formats``, else the
    one Accept prefers; NotAcceptable when none is, or when a parameter names a format of the
    other kind of answer (``format=csv`` on a CONSTRUCT: decision 021)."""
    refuse_other_kind((v for name in FORMAT_PARAMETERS for v in params.get(name, [])), formats)
    for name in FORMAT_PARAMETERS:
        for value in params.get(name, []):
            table = {f.extension: f for f in formats}
            fmt = by_name(value, table)
            if fmt is not None:
                return fmt
    return choose_format(accept, formats)


def _requested_format(params: dict[str, list[str]], formats: list[Format]) -> Format:
    return requested_format(params, formats, request.accept_mimetypes)


def _wants_html() -> bool:
    return wants_html(request.accept_mimetypes)


def wants_html(accept: MIMEAccept) -> bool:
    """True for browsers: text/html named explicitly and preferred (``*/*`` alone means a client)."""
    accept = understood(accept)
    if not any(value in ("text/html", "application/xhtml+xml") for value, _q in accept):
        return False
    return accept.best_match(["application/sparql-results+json", "text/turtle", "text/html"]) == "text/html"


def query_timeout(params: dict[str, list[str]]) -> float | None:
    values = params.get("timeout", [])
    if not values:
        return None
    try:
        seconds = float(values[0])
    except ValueError:
        raise BadRequest(f"timeout must be a number of seconds, not {values[0]!r}") from None
    if not 0 < seconds < 1e6:
        raise BadRequest("timeout must be a positive number of seconds")
    return seconds


def _respond(result: QueryResult | Answer, params: dict[str, list[str]]) -> Response:
    if isinstance(result, Answer):  # written by the engine (the embedded stores)
        response = Response(result.pieces, headers=answer_headers(result, request.method, _settings().result_limit))
        return as_file(response, params, result.fmt)
    if isinstance(result, GraphResult):  # a remote store's answers are written here
        fmt = _requested_format(params, CONSTRUCT_FORMATS)
        response = Response(_graph_bytes(result, fmt), content_type=fmt.content_type)
    else:
        fmt = _requested_format(params, SELECT_FORMATS)
        assert fmt.results_writer is not None  # every results format has one
        response = Response(_in_pieces(fmt.results_writer(result)), content_type=fmt.content_type)
    if result.truncated:
        response.headers[TRUNCATED_HEADER] = f"true; limit={_settings().result_limit}"
    response.headers["Vary"] = VARY_ACCEPT
    response.headers["Cache-Control"] = NO_STORE if request.method == "POST" else QUERY_CACHE_CONTROL
    return add_cors(as_file(response, params, fmt))


def answer_headers(answer: Answer, method: str, limit: int) -> list[tuple[str, str]]:
    """The headers of an answer the engine wrote (Flask's view and the fast path send the same)."""
    headers = [("Content-Type", answer.content_type), ("Content-Length", str(answer.length)),
               ("Vary", VARY_ACCEPT), ("Cache-Control", NO_STORE if method == "POST" else QUERY_CACHE_CONTROL),
               *CORS_HEADERS]
    if answer.truncated:
        headers.append((TRUNCATED_HEADER, f"true; limit={limit}"))
    return headers


def _graph_bytes(result: GraphResult, fmt: Format) -> bytes:
    """A remote store's CONSTRUCT answer in ``fmt`` (the embedded stores' are written by
    ``kazdata.sparql.answers``, in the query process)."""
    if fmt.serializer is None:  # TriG / N-Quads: the constructed triples form the default graph
        return rdf_bytes([ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph())
                          for t in result.triples], fmt.rdf_format)
    try:
        return (_expanded_json_ld(result.triples) if fmt is JSON_LD  # as kazdata.sparql.answers writes it
                else fmt.serializer(result.triples, _style()))
    except ValueError:  # e.g. RDF 1.2 terms that a writer lacks
        others = [f for f in CONSTRUCT_FORMATS if f is not fmt]
        raise NotAcceptable(f"this result cannot be written as {fmt.label}: it holds terms its writer "
                            "does not support (such as RDF 1.2 triple terms or directional language "
                            "strings); ask for " + ", ".join(f.label for f in others),
                            offered=[f.media_type for f in others]) from None


def _expanded_json_ld(triples: list[ox.Triple]) -> bytes:
    """pyoxigraph's JSON-LD (expanded: a list of nodes) as the ``@graph`` of one object, the
    shape of every other JSON-LD kazdata sends; ValueError for terms it cannot write (RDF 1.2
    triple terms), which its writer reports as OSError."""
    try:
        return b'{"@graph":' + rdf_bytes(triples, ox.RdfFormat.JSON_LD) + b"}\n"
    except OSError as error:
        raise ValueError(str(error)) from None


def _in_pieces(chunks: Iterable[bytes], size: int = PIECE_BYTES) -> Iterator[bytes]:
    """The writers yield a chunk per row, so a large result streams in bounded memory; sent as
    they come, each row would be a write of its own through the HTTP server, which costs per row
    (docs/benchmarks.md, ``bench/sparql_overhead.py``). Joined into pieces of ``size``
    bytes, a result still streams but pays per piece instead of per row."""
    pending: list[bytes] = []
    length = 0
    for chunk in chunks:
        pending.append(chunk)
        length += len(chunk)
        if length >= size:
            yield b"".join(pending)
            pending, length = [], 0
    if pending:
        yield b"".join(pending)


def _style() -> Style:
    release = served().release
    return Style(prefixes=prefixes_for(release.base), context=release.context)


@route(blueprint, "sparql")
def endpoint() -> Response:
    if request.method == "OPTIONS":  # not a preflight (those are answered before any view)
        return preflight(list(ROUTES["sparql"].methods))
    query, params = _protocol_request()
    if query is None:
        if request.method == "POST":
            raise BadRequest("no query: send a 'query' parameter or an application/sparql-query body")
        if _wants_html():
            return query_page()
        return _service_description_response()
    if _wants_html() and request.method != "POST" and DOWNLOAD not in params:  # the page keeps ?format (021)
        return query_page(initial_query=query.text, run=True)
    timeout = query_timeout(params)
    with current_app.extensions["kazdata"].client_queries.admit(query.client, timeout):
        result = served().engine.query(query, timeout=timeout)
    return _respond(result, params)




def _service_description_bytes(fmt: Format) -> bytes:
    """The description serialised for the public endpoint URL (``public_url``, never the Host
    header). The triples depend only on the release and the settings, so they are built once
    per release; the bytes are kept per format, so the cache has one entry per format at most."""
    snapshot = served()
    settings = _settings()
    url = endpoint_url(settings, snapshot.release)

    def build() -> list[ox.Triple]:
        return service_description(url, snapshot.release, settings,
                                   list(RESULT_FORMATS.values()), CONSTRUCT_FORMATS)

    def serialise() -> bytes:
        return fmt.serialize(snapshot.caches.service_triples(build), _style())

    return snapshot.caches.service_descriptions.get_or_compute(fmt.extension, serialise)


def _service_description_response() -> Response:
    fmt = choose_format(request.accept_mimetypes, list(GRAPH_FORMATS.values()))
    response = Response(_service_description_bytes(fmt), content_type=fmt.content_type)
    response.headers["Vary"] = VARY_ACCEPT
    return add_cors(response)


def _examples() -> list[dict]:
    return served().release.examples


def query_page(initial_query: str | None = None, run: bool = False, selected: str | None = None) -> Response:
    release = served().release
    prefixes = prefixes_for(release.base)
    examples = _examples()
    if initial_query is None:
        initial_query = examples[0]["query"] if examples else "SELECT * WHERE { ?s ?p ?o } LIMIT 10"
    page_data = {"prefixes": prefixes, "examples": examples, "run": run,
                 "formats": {f.extension: f.media_type for f in RESULT_FORMATS.values()},
                 "graphFormats": {f.extension: f.media_type for f in CONSTRUCT_FORMATS},
                 "base": release.base}
    html = template_environment().get_template("sparql.html").render(
        language="en", title="SPARQL endpoint", query=initial_query, examples=examples,
        prefixes=sorted(prefixes.items()), selected=selected, formats={},
        page_data=json.dumps(page_data, ensure_ascii=False).replace("<", "\\u003c"),
        limits=_settings())
    response = Response(html, content_type=HTML.content_type)
    response.headers["Vary"] = VARY_ACCEPT
    return add_cors(response)


@route(blueprint, "example")
def example(name: str) -> Response:
    """A stable, shareable URL per example query: the page for people, the query text otherwise."""
    found = next((e for e in _examples() if e["name"] == name), None)
    if found is None:
        raise NotFound(f"no example query {name!r}; examples: " + ", ".join(e["name"] for e in _examples()))
    if _wants_html():
        return query_page(initial_query=found["query"], run=True, selected=name)
    response = Response(found["query"], content_type="application/sparql-query; charset=utf-8")
    return add_cors(response)
