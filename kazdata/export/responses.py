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
from kazdata.formats import FILE_FORMATS, HTML, Format
from kazdata.release.opened import Release

#: Accept-Encoding allowing gzip: ``gzip`` or ``*`` with a non-zero quality (Werkzeug's rule).
GZIP_ACCEPTED = r"(?:^|,)\s*(?:gzip|\*)\s*(?:;\s*q\s*=\s*(?:1(?:\.0*)?|0?\.\d*[1-9]\d*))?\s*(?:,|$)"


def check_routable(release: Release) -> None:
    """ValueError for an entity whose kind or slug the routes do not match."""
    for path in release.entities:
        kind, slug = path.split("/", 1)
        if not (re.fullmatch(contract.KIND_PATTERN, kind) and re.fullmatch(contract.SLUG_PATTERN, slug)):
            raise ValueError(f"entity path {path!r} has characters the static configuration does not route")


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
    }
