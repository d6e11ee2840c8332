"""An OpenAPI 3 description of the HTTP interface, served at ``/openapi.json``.

The description is built from the same tables the handlers use (``kazdata.formats``) and from
the open release (its entity kinds, dumps and example queries), so it cannot drift from what
the server sends. It documents every route, every status a route may answer with and every
media type it may send, errors included: ``kazdata.web.errors`` renders an error as plain
text, HTML or JSON according to Accept.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, Response, current_app, request

from kazdata.formats import (
    DATASET_FORMATS,
    DUMP_FORMATS,
    GRAPH_FORMATS,
    GZIP,
    HTML,
    JSON_LD,
    RESULT_FORMATS,
)
from kazdata.vocabulary import SLUG, SLUG_PATTERN
from kazdata.web.cors import add_cors

blueprint = Blueprint("openapi", __name__)

OPENAPI_VERSION = "3.0.3"
TEXT = {"type": "string"}
HEADER = {"type": "string", "maxLength": 200}
BINARY = {"type": "string", "format": "binary"}
ERROR_JSON = {
    "type": "object",
    "required": ["status", "error", "message"],
    "properties": {
        "status": {"type": "integer"},
        "error": {"type": "string"},
        "message": {"type": "string", "minLength": 1},
        "offered": {"type": "array", "items": {"type": "string"}},
    },
}
#: Media types an error may come in (``kazdata.web.errors.ERROR_RENDERERS``, JSON for every JSON flavour).
ERROR_CONTENT = {"text/plain": {"schema": TEXT}, "text/html": {"schema": TEXT},
                 "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
ERRORS = {
    "400": "Malformed request: a query that does not parse, a parameter out of range, a body that is not "
           "UTF-8, an unsupported request Content-Type, or a request line longer than the server accepts.",
    "403": "Refused: SPARQL Update in any form, or SERVICE to an endpoint that is not allow-listed.",
    "404": "Nothing is published at this path (with close matches, in HTML).",
    "405": "The method is not allowed here; `Allow` lists the methods that are.",
    "406": "None of the media types in Accept is offered; the message lists those that are.",
    "413": "The request body is larger than the server accepts (setting `--max-body`).",
    "414": "The request line is longer than the server accepts (8190 bytes): send long queries with POST.",
    "416": "The Range cannot be satisfied for this file.",
    "503": "The query ran longer than its time limit and was stopped.",
}
JSON_TYPES = ("application/json", "application/ld+json", "application/sparql-results+json")


def _content(media_types, schema=None) -> dict:
    """``{media type: {schema}}``; ``schema=False`` for bodies that have none to check (byte ranges)."""
    content = {}
    for media_type in dict.fromkeys(m.split(";", 1)[0].strip() for m in media_types):
        if schema is False:
            content[media_type] = {}
        elif schema is not None:
            content[media_type] = {"schema": schema}
        elif media_type in JSON_TYPES:
            content[media_type] = {"schema": {"type": "object"}}
        elif media_type in ("application/gzip", "application/octet-stream"):
            content[media_type] = {"schema": BINARY}
        else:
            content[media_type] = {"schema": TEXT}
    return content


def _ok(description: str, media_types, headers: dict | None = None, schema=None) -> dict:
    response = {"description": description, "content": _content(media_types, schema)}
    if headers:
        response["headers"] = headers
    return response


def _errors(*statuses: int) -> dict:
    return {str(status): {"$ref": f"#/components/responses/E{status}"} for status in statuses}


def _header(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _path_parameter(name: str, description: str, schema: dict, example: str | None = None) -> dict:
    parameter = {"name": name, "in": "path", "required": True, "description": description, "schema": schema}
    if example is not None:
        parameter["example"] = example
    return parameter


def _types(formats) -> list[str]:
    return [fmt.media_type for fmt in formats]


def _file_responses(description: str, media_types, negotiated: bool = False,
                    headers: dict | None = None) -> dict:
    """What a precomputed release file answers (``send_release_file``: conditional requests, ranges)."""
    responses = {
        "200": _ok(description, media_types, headers=headers),
        "206": _ok("The requested byte range (a Range request).", media_types, schema=False),
        "304": {"description": "Not modified: the ETag in If-None-Match (or If-Modified-Since) still holds."},
    }
    responses.update(_errors(400, 404, *((406,) if negotiated else ()), 416))
    return responses


def _file_parameters(languages: bool = False) -> list[dict]:
    names = ["IfNoneMatch", "IfModifiedSince", "Range"] + (["AcceptLanguage"] if languages else [])
    return [_header(name) for name in names]


def _get(summary: str, responses: dict, parameters: list | None = None, description: str | None = None,
         operation_id: str | None = None, tags: tuple[str, ...] = ()) -> dict:
    operation = {"summary": summary, "responses": responses}
    if operation_id:
        operation["operationId"] = operation_id
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if tags:
        operation["tags"] = list(tags)
    return operation


def _package_version() -> str:
    try:
        return version("kazdata")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def build_spec(release, settings: dict) -> dict:
    """The OpenAPI document for this release and these settings."""
    kinds = list(release.kinds)
    entity = next(iter(release.entities), "event/example")  # the table is sorted by path
    example_kind, example_slug = entity.split("/", 1)
    dumps = sorted(name[len("dumps/"):] for name in release.digests if name.startswith("dumps/"))
    examples = [e["name"] for e in release.examples]
    graph_types = _types(GRAPH_FORMATS.values())
    document_types = graph_types + [HTML.media_type]
    construct_types = graph_types + _types(DATASET_FORMATS.values())
    result_types = _types(RESULT_FORMATS.values())
    dump_types = sorted({f.content_type for f in DUMP_FORMATS} | {GZIP.content_type, "application/octet-stream"})
    extensions = [fmt.extension for fmt in GRAPH_FORMATS.values()]
    kind_schema = {"type": "string", "enum": kinds} if kinds else {"type": "string"}
    slug_pattern = f"^{SLUG_PATTERN}" + r"(\.(" + "|".join(extensions + [HTML.extension]) + "))?$"
    negotiated_note = ("Negotiated by Accept among the media types below (RDF is preferred for `*/*`); "
                       "a suffix picks the format without Accept.")
    location = {"Location": {"description": "The document about the resource.", "required": True,
                             "schema": {"type": "string"}}}
    etag = {"ETag": {"description": "Strong validator of the release file sent.", "schema": TEXT}}

    def has_page(name: str) -> bool:
        return release.has(f"pages/{name}.{release.languages[0]}.html") if release.languages else False

    def graph_resource(name: str, what: str) -> dict:
        """The ontology, the shapes and the dataset description: negotiated, or chosen by a suffix;
        HTML too where the release has a page for it."""
        html = has_page(name)
        media_types = graph_types + ([HTML.media_type] if html else [])
        suffixes = extensions + ([HTML.extension] if html else [])
        return {
            f"/{name}": {"get": _get(
                f"{what} (negotiated)", _file_responses(what, media_types, negotiated=True, headers=etag),
                _file_parameters(languages=html), negotiated_note, name, ("documents",))},
            f"/{name}.{{extension}}": {"get": _get(
                f"{what} in the format named by the suffix", _file_responses(what, media_types, headers=etag),
                [_path_parameter("extension", "Format suffix.", {"type": "string", "enum": suffixes}, "ttl"),
                 *_file_parameters(languages=html)], operation_id=f"{name}-suffix", tags=("documents",))},
        }

    sparql_parameters = [
        {"name": "query", "in": "query", "required": False, "description":
            "A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE). Without it, GET answers the "
            "service description (RDF Accept) or the query page (text/html).",
         "schema": {"type": "string", "maxLength": 4000}, "example": "ASK { ?s a schema:Event }"},
        {"name": "default-graph-uri", "in": "query", "required": False, "style": "form", "explode": True,
         "description": "Named graphs of this release forming the default graph (repeatable).",
         "schema": {"type": "array", "items": {"type": "string", "enum": list(release.graphs)}}},
        {"name": "named-graph-uri", "in": "query", "required": False, "style": "form", "explode": True,
         "description": "Named graphs of this release visible to GRAPH (repeatable).",
         "schema": {"type": "array", "items": {"type": "string", "enum": list(release.graphs)}}},
        {"name": "format", "in": "query", "required": False,
         "description": "Result format by extension, name or media type; overrides Accept "
                        "(`output` and `results` are synonyms).",
         "schema": {"type": "string", "enum": sorted({f.extension for f in RESULT_FORMATS.values()}
                                                     | {f.extension for f in GRAPH_FORMATS.values()}
                                                     | {f.extension for f in DATASET_FORMATS.values()})}},
        {"name": "timeout", "in": "query", "required": False,
         "description": f"Seconds the query may run, at most the server's {settings['query_timeout']:g} s.",
         "schema": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 1000}},
    ]
    sparql_ok = _ok("Results (SELECT/ASK), a graph (CONSTRUCT/DESCRIBE), the service description "
                    "(no query, RDF Accept) or the query page (text/html).",
                    result_types + construct_types + [HTML.media_type],
                    headers={"X-Kazdata-Truncated": {"description": "Present when the result was cut at "
                                                                    "the operator's limit.", "schema": TEXT}})
    sparql_responses = {"200": sparql_ok, **_errors(400, 403, 406, 503)}
    form_schema = {"type": "object", "required": ["query"], "properties": {
        "query": {"type": "string", "maxLength": 4000},
        "default-graph-uri": {"type": "array", "items": {"type": "string", "enum": list(release.graphs)}},
        "named-graph-uri": {"type": "array", "items": {"type": "string", "enum": list(release.graphs)}},
        "format": {"type": "string"},
        "timeout": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 1000}}}

    paths = {
        "/": {"get": _get("Home page", _file_responses("Home page.", [HTML.media_type], negotiated=True),
                          _file_parameters(languages=True), operation_id="home", tags=("pages",))},
        "/timeline": {"get": _get("Events in date order",
                                  _file_responses("Timeline page.", [HTML.media_type], negotiated=True),
                                  _file_parameters(languages=True), operation_id="timeline", tags=("pages",))},
        "/index/{kind}": {"get": _get(
            "Index of the entities of one kind", _file_responses("Index page.", [HTML.media_type], negotiated=True),
            [_path_parameter("kind", "Entity kind.", kind_schema, example_kind), *_file_parameters(languages=True)],
            operation_id="kind-index", tags=("pages",))},
        "/id/{kind}/{slug}": {"get": _get(
            "Entity IRI", {"303": {"description": "See Other: the IRI names a thing; its document is at "
                                                  "/doc/{kind}/{slug}, whatever the Accept.",
                                   "headers": location, "content": _content(["text/plain"])},
                           **_errors(404)},
            [_path_parameter("kind", "Entity kind.", kind_schema, example_kind),
             _path_parameter("slug", "Entity slug.", {"type": "string", "pattern": SLUG.pattern},
                             example_slug)],
            operation_id="identifier", tags=("documents",))},
        "/doc/{kind}/{slug}": {"get": _get(
            "Document about an entity",
            _file_responses("The document.", document_types, negotiated=True, headers=etag),
            [_path_parameter("kind", "Entity kind.", kind_schema, example_kind),
             _path_parameter("slug", "Entity slug, optionally with a format suffix "
                                     "(.ttl, .jsonld, .nt, .rdf, .html) that overrides Accept.",
                             {"type": "string", "pattern": slug_pattern}, example_slug + ".ttl"),
             *_file_parameters(languages=True)],
            negotiated_note, "document", ("documents",))},
        **graph_resource("ontology", "The ontology"),
        **graph_resource("shapes", "The SHACL shapes"),
        **graph_resource("dataset", "The VoID and DCAT description of the dataset"),
        "/.well-known/void": {"get": _get(
            "The VoID description (same as /dataset)",
            _file_responses("VoID/DCAT description.", graph_types + ([HTML.media_type] if has_page("dataset") else []),
                            negotiated=True, headers=etag),
            _file_parameters(languages=has_page("dataset")), operation_id="well-known-void", tags=("documents",))},
        "/context.jsonld": {"get": _get("The JSON-LD context",
                                        _file_responses("JSON-LD context.", [JSON_LD.media_type]),
                                        _file_parameters(), operation_id="context", tags=("documents",))},
        "/sitemap.xml": {"get": _get("Sitemap of every page, with absolute URLs for the serving host",
                                     {"200": _ok("Sitemap.", ["application/xml"])},
                                     operation_id="sitemap", tags=("pages",))},
        "/dumps/": {"get": _get("Download page", {"200": _ok("List of dumps with sizes and checksums.",
                                                             [HTML.media_type])},
                                operation_id="dumps", tags=("dumps",))},
        "/dumps/SHA256SUMS": {"get": _get("Checksums of the dumps (for `sha256sum -c` in the dumps folder)",
                                          {"200": _ok("Checksums.", ["text/plain"])},
                                          operation_id="dump-checksums", tags=("dumps",))},
        "/dumps/{name}": {"get": _get(
            "A dump file (the whole dataset in one format; .gz copies are sent as application/gzip)",
            _file_responses("The dump.", dump_types, headers=etag),
            [_path_parameter("name", "Dump file name.", {"type": "string", "enum": dumps} if dumps else TEXT,
                             dumps[0] if dumps else None),
             *_file_parameters()], operation_id="dump", tags=("dumps",))},
        "/SHA256SUMS": {"get": _get("Checksums of every file of the release",
                                    _file_responses("Checksums.", ["text/plain"]),
                                    _file_parameters(), operation_id="release-checksums", tags=("dumps",))},
        "/sparql": {
            "get": _get("SPARQL query, service description or query page", sparql_responses,
                        sparql_parameters, "SPARQL 1.1 Protocol query via GET. Results are negotiated by "
                        "Accept or chosen by `format`.", "sparql-get", ("sparql",)),
            "post": {
                "summary": "SPARQL query via POST", "operationId": "sparql-post", "tags": ["sparql"],
                "description": "A form (`query=...`) or the query itself as application/sparql-query. "
                               "application/sparql-update and an `update` parameter are refused (403).",
                "parameters": [p for p in sparql_parameters if p["name"] in ("format", "timeout")],
                "requestBody": {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": form_schema},
                    "application/sparql-query": {"schema": {"type": "string", "maxLength": 4000},
                                                 "example": "SELECT ?place WHERE { ?place a schema:City }"}}},
                "responses": {**sparql_responses, **_errors(413)},
            },
            "options": {"summary": "CORS preflight", "operationId": "sparql-options", "tags": ["sparql"],
                        "responses": {"204": {"description": "Allowed methods and headers.", "headers": {
                            "Allow": {"schema": TEXT, "required": True}}}}},
        },
        "/sparql/examples/{name}": {"get": _get(
            "An example query at a stable URL",
            {"200": _ok("The query text, or the query page running it (text/html).",
                        ["application/sparql-query", HTML.media_type]), **_errors(404)},
            [_path_parameter("name", "Example name.", {"type": "string", "enum": examples} if examples else TEXT,
                             examples[0] if examples else None)],
            operation_id="example", tags=("sparql",))},
        "/static/{filename}": {"get": _get(
            "Style sheet and script of the pages",
            {"200": _ok("The file.", ["text/css", "text/javascript"]), "304": {"description": "Not modified."},
             **_errors(404)},
            [_path_parameter("filename", "File name.", {"type": "string", "enum": ["kazdata.css", "sparql.js"]},
                             "kazdata.css")], operation_id="static", tags=("pages",))},
        "/openapi.json": {"get": _get("This description",
                                      {"200": _ok("OpenAPI document.", ["application/json"], schema={"type": "object"}),
                                       "304": {"description": "Not modified."}},
                                      operation_id="openapi", tags=("meta",))},
    }
    for item in paths.values():  # a generated value can make the request line too long for the server
        for operation in item.values():
            if any(p.get("in") in ("path", "query") for p in operation.get("parameters", [])):
                operation["responses"].update(_errors(414))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "kazdata",
            "version": _package_version(),
            "description": (
                "Linked data about the December 2011 oil-workers' strike and police shootings in western "
                "Kazakhstan: dereferenceable entity IRIs, documents in Turtle, JSON-LD, N-Triples, RDF/XML "
                "and HTML, dumps and a read-only SPARQL 1.1 endpoint. Every route also answers HEAD and "
                "OPTIONS; other methods get 405 with an `Allow` header. Errors come as text/plain, "
                f"text/html or application/json according to Accept. Release {release.version}."),
            "license": {"name": "Data CC BY 4.0; code MIT", "url": "https://creativecommons.org/licenses/by/4.0/"},
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": n} for n in ("documents", "pages", "dumps", "sparql", "meta")],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_JSON},
            "responses": {f"E{status}": {"description": text, "content": ERROR_CONTENT}
                          for status, text in ERRORS.items()},
            "parameters": {
                "IfNoneMatch": {"name": "If-None-Match", "in": "header", "required": False,
                                "description": "ETags the client holds; 304 when one still matches.", "schema": HEADER},
                "IfModifiedSince": {"name": "If-Modified-Since", "in": "header", "required": False,
                                    "description": "HTTP date; 304 when the release is not newer.", "schema": HEADER},
                "Range": {"name": "Range", "in": "header", "required": False,
                          "description": "One byte range, e.g. `bytes=0-99`.", "schema": HEADER},
                "AcceptLanguage": {"name": "Accept-Language", "in": "header", "required": False,
                                   "description": "Language of HTML pages: " + ", ".join(release.languages) + ".",
                                   "schema": HEADER},
            },
        },
    }


@blueprint.route("/openapi.json", methods=["GET", "HEAD"])
def openapi() -> Response:
    resources = current_app.extensions["kazdata"]
    release = resources.release  # the served release may be switched while the server runs
    cached = current_app.extensions.get("kazdata.openapi")
    if cached is None or cached[0] is not release:
        text = json.dumps(build_spec(release, resources.settings), ensure_ascii=False, indent=1, sort_keys=True)
        cached = current_app.extensions["kazdata.openapi"] = (release, text + "\n")
    response = Response(cached[1], content_type="application/json; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.add_etag()
    response.make_conditional(request)
    return add_cors(response)
