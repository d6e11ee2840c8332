"""An OpenAPI 3 description of the HTTP interface, served at ``/openapi.json``.

The description is a declarative template (``openapi_template.json`` beside this module) filled
with the release's values (its entity kinds, dumps, graphs and example queries), the format
registry's media types and the routes of ``kazdata.http_contract``, so it cannot drift from what
the server sends. It documents every route, every status a route may answer with and every
media type it may send, errors included: ``kazdata.web.errors`` renders an error as plain
text, HTML or JSON according to Accept.

The template's directives (an object with one of these keys is replaced by what it names):
``$value`` (a value, by dotted name), ``$text`` (a string with ``{name}`` filled in),
``$fragment`` (a named fragment of the template, ``with`` extra names), ``$ok``, ``$file``,
``$content``, ``$errors`` and ``$file_parameters`` (the pieces every file route shares). In a
list, ``{"$splice": X}`` inserts the items of X; in an object, ``"$merge": [X, ...]`` adds the
members of each X. A member whose value fills to null is left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, request

from kazdata.entities.pages import STATIC_DIR
from kazdata.formats import (
    DATASET_FORMATS,
    DUMP_FORMATS,
    GRAPH_FORMATS,
    GZIP,
    HTML,
    JSON,
    JSON_LD,
    RESULT_FORMATS,
)
from kazdata.http_contract import CACHE_CONTROL, GRAPH_FILES, ROUTES
from kazdata.release.opened import Release
from kazdata.settings import Settings
from kazdata.vocabulary import SLUG_PATTERN
from kazdata.web.cors import add_cors
from kazdata.web.resources import served
from kazdata.web.routes import route

blueprint = Blueprint("openapi", __name__)

TEMPLATE = Path(__file__).with_name("openapi_template.json")
JSON_TYPES = JSON.media_types
BINARY_TYPES = ("application/gzip", "application/octet-stream")
#: the statuses a route whose URL carries generated values may answer besides its own: such a
#: value can make the request line longer than the server accepts
LONG_REQUEST_LINE = 414


@lru_cache(maxsize=1)
def template() -> dict:
    return json.loads(TEMPLATE.read_text(encoding="utf-8"))


def _content(types: list[str], schema: Any = None) -> dict:
    """``{media type: {schema}}``; ``schema=False`` for bodies that have none to check (byte ranges)."""
    content: dict[str, dict] = {}
    for media_type in dict.fromkeys(m.split(";", 1)[0].strip() for m in types):
        if schema is False:
            content[media_type] = {}
        elif schema is not None:
            content[media_type] = {"schema": schema}
        elif media_type in JSON_TYPES:
            content[media_type] = {"schema": {"type": "object"}}
        elif media_type in BINARY_TYPES:
            content[media_type] = {"schema": {"type": "string", "format": "binary"}}
        else:
            content[media_type] = {"schema": {"type": "string"}}
    return content


def _ok(description: str, types: list[str], headers: dict | None = None, schema: Any = None) -> dict:
    response: dict[str, Any] = {"description": description, "content": _content(types, schema)}
    if headers:
        response["headers"] = headers
    return response


def _errors(statuses: list[int]) -> dict:
    return {str(status): {"$ref": f"#/components/responses/E{status}"} for status in statuses}


def _file_responses(description: str, types: list[str], negotiated: bool = False, etag: bool = False) -> dict:
    """What a precomputed release file answers (``send_release_file``: conditional requests, ranges)."""
    headers = fill(template()["fragments"]["etag"], {}) if etag else None  # a copy: specs are served
    responses = {
        "200": _ok(description, types, headers=headers),
        "206": _ok("The requested byte range (a Range request).", types, schema=False),
        "304": {"description": "Not modified: the ETag in If-None-Match (or If-Modified-Since) still holds."},
    }
    responses.update(_errors([400, 404, *([406] if negotiated else []), 416]))
    return responses


def _file_parameters(languages: bool) -> list[dict]:
    names = ["IfNoneMatch", "IfModifiedSince", "Range"] + (["AcceptLanguage"] if languages else [])
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


#: directive -> what builds its value from the filled argument
BUILDERS: dict[str, Callable[[Any], Any]] = {
    "$ok": lambda args: _ok(**args),
    "$file": lambda args: _file_responses(**args),
    "$content": lambda args: _content(**args),
    "$errors": _errors,
    "$file_parameters": _file_parameters,
}


def _lookup(values: dict, dotted: str) -> Any:
    value: Any = values
    for part in dotted.format_map(values).split("."):
        value = value[part]
    return value


def fill(node: Any, values: dict) -> Any:
    """The template ``node`` with its directives replaced (see the module's docstring)."""
    if isinstance(node, list):
        items: list = []
        for item in node:
            if isinstance(item, dict) and "$splice" in item:
                items += fill(item["$splice"], values)
            else:
                items.append(fill(item, values))
        return items
    if not isinstance(node, dict):
        return node
    if "$value" in node:
        return _lookup(values, node["$value"])
    if "$text" in node:
        return node["$text"].format_map(values)
    if "$fragment" in node:
        return fill(template()["fragments"][node["$fragment"]], {**values, **node.get("with", {})})
    for directive, build in BUILDERS.items():
        if directive in node:
            return build(fill(node[directive], values))
    filled = {}
    for part in node.get("$merge", []):
        filled.update(fill(part, values))
    for key, value in node.items():
        if key != "$merge" and (value := fill(value, values)) is not None:
            filled[key] = value
    return filled


def _package_version() -> str:
    try:
        return version("kazdata")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _enum(values: list[str]) -> dict:
    return {"type": "string", "enum": values} if values else {"type": "string"}


def release_values(release: Release, settings: Settings) -> dict[str, Any]:
    """What the template is filled with: the release's values and the registries' media types."""
    entity = next(iter(release.entities), "event/example")  # the table is sorted by path
    dumps = sorted(name[len("dumps/"):] for name in release.digests if name.startswith("dumps/"))
    examples = [e["name"] for e in release.examples]
    graph_types = [fmt.media_type for fmt in GRAPH_FORMATS.values()]
    extensions = [fmt.extension for fmt in GRAPH_FORMATS.values()]
    has_page = {name: bool(release.languages) and release.has(f"pages/{name}.{release.languages[0]}.html")
                for name in GRAPH_FILES}
    graph_names = [iri.rsplit("/", 1)[-1] for iri in release.graphs]
    versions = sorted(iri.rsplit("/", 1)[-1] for iri in release.ontology_versions)
    return {
        "rdf_types": graph_types, "graph_example": graph_names[0] if graph_names else None,
        "ontology_version_schema": _enum(versions), "ontology_version_example": versions[0] if versions else None,
        "release_version": release.version, "release_version_schema": _enum([release.version]),
        "package_version": _package_version(),
        "languages": ", ".join(release.languages), "query_timeout": f"{settings.query_timeout:g}",
        "kind_schema": _enum(list(release.kinds)), "example_kind": entity.split("/", 1)[0],
        "example_slug": entity.split("/", 1)[1],
        "entity_slug_pattern": f"^{SLUG_PATTERN}$",
        "slug_pattern": f"^{SLUG_PATTERN}" + r"(\.(" + "|".join(extensions + [HTML.extension]) + "))?$",
        "dump_schema": _enum(dumps), "dump_example": dumps[0] if dumps else None,
        "example_schema": _enum(examples), "example_name": examples[0] if examples else None,
        "graphs": list(release.graphs), "html_types": [HTML.media_type], "json_ld_types": [JSON_LD.media_type],
        "document_types": graph_types + [HTML.media_type],
        "graph_type_list": graph_types,
        "sparql_types": [fmt.media_type for fmt in (*RESULT_FORMATS.values(), *GRAPH_FORMATS.values(),
                                                     *DATASET_FORMATS.values(), HTML)],
        "dump_types": sorted({fmt.content_type for fmt in (*DUMP_FORMATS, GZIP)} | set(BINARY_TYPES)),
        "query_formats": sorted({f.extension for f in (*RESULT_FORMATS.values(), *GRAPH_FORMATS.values(),
                                                        *DATASET_FORMATS.values())}),
        "static_files": sorted(path.name for path in STATIC_DIR.iterdir() if path.is_file()),
        "has_page": has_page,
        "graph_types": {name: graph_types + ([HTML.media_type] if html else []) for name, html in has_page.items()},
        "graph_suffixes": {name: extensions + ([HTML.extension] if html else []) for name, html in has_page.items()},
    }


def build_spec(release: Release, settings: Settings) -> dict:
    """The OpenAPI document for this release and these settings; paths are the contract's routes."""
    values = release_values(release, settings)
    values["error_responses"] = {f"E{status}": {"description": text, "content": fill(template()["error_content"], {})}
                                 for status, text in template()["errors"].items()}
    spec = fill(template()["document"], values)
    spec["paths"] = {ROUTES[name].path: fill(operations, values)
                     for name, operations in template()["operations"].items()}
    for item in spec["paths"].values():
        for operation in item.values():
            if any(p.get("in") in ("path", "query") for p in operation.get("parameters", [])):
                operation["responses"].update(_errors([LONG_REQUEST_LINE]))
    return spec


@route(blueprint, "openapi")
def openapi() -> Response:
    """Built once per served release (``ReleaseCaches.openapi``)."""
    snapshot = served()
    settings = current_app.extensions["kazdata"].settings
    text = snapshot.caches.openapi(lambda: json.dumps(build_spec(snapshot.release, settings), ensure_ascii=False,
                                                      indent=1, sort_keys=True) + "\n")
    response = Response(text, content_type="application/json; charset=utf-8")
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.add_etag()
    response.make_conditional(request)
    return add_cors(response)
