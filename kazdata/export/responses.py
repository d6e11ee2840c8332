"""What a static deployment sends, whichever web server sends it: the values of
``kazdata.http_contract`` (routes' patterns, header values, Link headers, error texts) put in
the form the nginx and Apache templates fill in.

``kazdata.export.nginx`` and ``kazdata.export.apache`` both render ``contract_context``, each in
its own syntax; each names its variables (``$kazdata_kind`` in nginx, ``%{...}e`` in Apache)
and this module fills them into the same headers the Python server writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from kazdata import http_contract as contract
from kazdata.formats import FILE_FORMATS, GRAPH_FORMATS, HTML, Format
from kazdata.release.opened import Release

#: Accept-Encoding allowing gzip: ``gzip`` or ``*`` with a non-zero quality (Werkzeug's rule).
GZIP_ACCEPTED = r"(?:^|,)\s*(?:gzip|\*)\s*(?:;\s*q\s*=\s*(?:1(?:\.0*)?|0?\.\d*[1-9]\d*))?\s*(?:,|$)"


#: Routes a static deployment hands to the kazdata server behind it (it answers their preflights too).
PROXIED = ("sparql", "example", "openapi")
#: What a version or graph name may hold to reach a route, a header and a file name.
NAME_PATTERN = "[A-Za-z0-9_~-][A-Za-z0-9_~.+-]*"


def check_routable(release: Release) -> None:
    """ValueError for an entity, version or named graph whose name the routes do not match."""
    for path in release.entities:
        kind, slug = path.split("/", 1)
        if not (re.fullmatch(contract.KIND_PATTERN, kind) and re.fullmatch(contract.SLUG_PATTERN, slug)):
            raise ValueError(f"entity path {path!r} has characters the static configuration does not route")
    for name in [release.version, *ontology_versions(release)]:
        if not re.fullmatch(NAME_PATTERN, name):
            raise ValueError(f"version {name!r} has characters the static configuration does not route")
    for name in named_graphs(release):
        if not re.fullmatch(contract.SLUG_PATTERN, name):
            raise ValueError(f"named graph {name!r} has characters the static configuration does not route")


def route_pattern(path: str) -> str:
    """A route's path (``/doc/{kind}/{slug}``) as a regular expression over a URL path, matching
    what Werkzeug matches for it: a parameter is one segment, and a trailing slash is optional
    (the app routes with ``strict_slashes`` off)."""
    stem = path.rstrip("/")
    if not stem:
        return "/"
    return "".join("[^/]+" if part.startswith("{") else re.escape(part)
                   for part in re.split(r"(\{\w+\})", stem)) + "/?"


def preflight_routes() -> str:
    """The paths whose CORS preflight the static deployment answers itself: every route but
    those proxied to the kazdata server, as one alternation."""
    return "|".join(route_pattern(route.path) for name, route in contract.ROUTES.items() if name not in PROXIED)


def preflight_methods() -> str:
    """``Allow`` of a preflight: what Flask answers for the read-only routes (they add OPTIONS)."""
    methods = {method for name, route in contract.ROUTES.items() if name not in PROXIED for method in route.methods}
    assert methods == set(contract.READ), methods  # one answer for every route the export serves
    return ", ".join(sorted({*methods, "OPTIONS"}))


def ontology_versions(release: Release) -> list[str]:
    """The versions of ``{base}ontology/{version}`` that the ontology names as its version IRIs."""
    prefix = f"{release.base}ontology/"
    return sorted(iri[len(prefix):] for iri in release.ontology_versions
                  if iri.startswith(prefix) and "/" not in iri[len(prefix):])


def named_graphs(release: Release) -> list[str]:
    """The names of ``{base}graph/{name}``, the release's named graphs."""
    prefix = f"{release.base}graph/"
    return sorted(iri[len(prefix):] for iri in release.graphs if iri.startswith(prefix))


def named_graph_links(graph: str) -> list[tuple[str, str]]:
    """``(extension, Link header)`` of ``/graph/{name}`` per RDF format; ``graph`` is the web
    server's expression for the name."""
    formats = list(GRAPH_FORMATS.values())
    return [(fmt.extension, contract.graph_links(f"/graph/{graph}", fmt, formats)) for fmt in formats]


def content_types() -> list[tuple[str, str]]:
    """``(extension, Content-Type)`` for every file the site sends, from the format registry."""
    return sorted((extension, fmt.content_type) for extension, fmt in FILE_FORMATS.items())


def document_links(stem: str, base: str) -> list[tuple[str, str]]:
    """``(extension, Link header)`` of ``/doc/{stem}`` per format; ``stem`` is the web server's
    expression for ``{kind}/{slug}``."""
    return [(fmt.extension, contract.document_links(stem, base, fmt)) for fmt in contract.DOCUMENT_PREFERENCE]


def graph_links(graph: str) -> list[tuple[str, str]]:
    """``(extension, Link header)`` of /ontology, /shapes, /dataset for an RDF format (none for
    HTML); ``graph`` is the web server's expression for the graph's name."""
    return [(fmt.extension, contract.graph_links(f"/{graph}", fmt, contract.DOCUMENT_PREFERENCE))
            for fmt in contract.DOCUMENT_PREFERENCE if fmt is not HTML]


def not_acceptable(formats: Iterable[Format]) -> str:
    """The body of a 406 (plain text, one line per fact, ending in a newline)."""
    offered = contract.offered_types(list(formats))
    return f"406 Not acceptable: {contract.not_acceptable(offered)}\n"


def contract_context(release: Release) -> dict[str, Any]:
    """What both servers' templates read from the contract, for ``release``."""
    check_routable(release)
    return {
        "version": release.version, "types": content_types(), "allow_origin": contract.ALLOW_ORIGIN,
        "exposed": contract.EXPOSED_HEADERS, "nosniff": contract.NOSNIFF,
        "referrer_policy": contract.REFERRER_POLICY, "csp": contract.CONTENT_SECURITY_POLICY,
        "cache_control": contract.CACHE_CONTROL, "revalidate": contract.REVALIDATE,
        "no_store": contract.NO_STORE, "vary_document": contract.VARY_DOCUMENT,
        "vary_html_document": contract.VARY_HTML_DOCUMENT, "vary_accept": contract.VARY_ACCEPT,
        "vary_page": contract.file_vary("Accept-Language"), "vary_file": contract.file_vary(""),
        "text_plain": contract.TEXT_PLAIN,
        "kind_pattern": contract.KIND_PATTERN, "slug_pattern": contract.SLUG_PATTERN,
        "unsafe_path": contract.UNSAFE_PATH, "gzip_accepted": GZIP_ACCEPTED,
        "graph_names": "|".join(contract.GRAPH_FILES), "graph_files": contract.GRAPH_FILES,
        "home_link": contract.link_header(contract.HOME_LINKS),
        "kinds": ", ".join(release.kinds), "default_language": release.languages[0],
        "page_language": contract.PAGE_LANGUAGE,
        "not_acceptable": not_acceptable(contract.DOCUMENT_PREFERENCE),
        "page_not_acceptable": not_acceptable([HTML]),
        "graph_not_acceptable": not_acceptable(GRAPH_FORMATS.values()),
        "graph_extensions": list(GRAPH_FORMATS),
        "preflight_routes": preflight_routes(), "preflight_methods": preflight_methods(),
        "preflight_allow_headers": contract.PREFLIGHT_ALLOW_HEADERS, "preflight_max_age": contract.PREFLIGHT_MAX_AGE,
        "release_version": re.escape(release.version),
        "ontology_versions": "|".join(re.escape(version) for version in ontology_versions(release)),
        "see_other_target": contract.ROOT_RESOURCE_TARGET,
    }
