"""What a static deployment sends, whichever web server sends it: the routes' patterns, the
Content-Type of each file, the Link header of each format, the error texts, the ETags.

``kazdata.export.nginx`` and ``kazdata.export.apache`` both render these, each in its own
syntax; each names its variables (``$kazdata_kind`` in nginx, ``%{...}e`` in Apache) and this
module fills them into the same headers the Python server writes with ``link_header``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kazdata.formats import FILE_FORMATS, HTML, Format
from kazdata.release.opened import Release
from kazdata.vocabulary import LICENSE, Vocabulary
from kazdata.web.documents import DOCUMENT_PREFERENCE, link_header
from kazdata.web.negotiation import offered_types

#: Kinds and slugs the routes accept; the export refuses entities outside them, since they
#: reach headers (Link, Location) and file names.
KIND_PATTERN = "[a-z0-9_-]+"
SLUG_PATTERN = "[A-Za-z0-9_~-]+"
#: A raw request path the Python server answers 404 to (dot segments, encoded slashes,
#: backslashes or NUL) and that a web server would otherwise normalise into another URL.
UNSAFE_PATH = r"^[^?]*(?:(?:\.|%2e)(?:\.|%2e)|%2f|%5c|%00)"
#: Accept-Encoding allowing gzip: ``gzip`` or ``*`` with a non-zero quality (Werkzeug's rule).
GZIP_ACCEPTED = r"(?:^|,)\s*(?:gzip|\*)\s*(?:;\s*q\s*=\s*(?:1(?:\.0*)?|0?\.\d*[1-9]\d*))?\s*(?:,|$)"


def check_routable(release: Release) -> None:
    """ValueError for an entity whose kind or slug the routes do not match."""
    for path in release.entities:
        kind, slug = path.split("/", 1)
        if not (re.fullmatch(KIND_PATTERN, kind) and re.fullmatch(SLUG_PATTERN, slug)):
            raise ValueError(f"entity path {path!r} has characters the static configuration does not route")


def content_types() -> list[tuple[str, str]]:
    """``(extension, Content-Type)`` for every file the site sends, from the format registry."""
    return sorted((extension, fmt.content_type) for extension, fmt in FILE_FORMATS.items())


def document_links(stem: str, base: str) -> list[tuple[str, str]]:
    """``(extension, Link header)`` of ``/doc/{stem}`` per chosen format, as ``plan_document``
    writes it; ``stem`` is the web server's expression for ``{kind}/{slug}``."""
    links = []
    for fmt in DOCUMENT_PREFERENCE:
        entries = [(f"/doc/{stem}.{other.extension}", "alternate", other.media_type)
                   for other in DOCUMENT_PREFERENCE if other is not fmt]
        entries += [(Vocabulary(base).document(stem), "canonical", None), (LICENSE, "license", None),
                    ("/dataset", "describedby", "text/turtle")]
        links.append((fmt.extension, link_header(entries)))
    return links


def graph_links(graph: str) -> list[tuple[str, str]]:
    """``(extension, Link header)`` of /ontology, /shapes, /dataset for an RDF format (none for
    HTML); ``graph`` is the web server's expression for the graph's name."""
    links = []
    for fmt in DOCUMENT_PREFERENCE:
        if fmt is HTML:
            continue
        entries = [(f"/{graph}.{other.extension}", "alternate", other.media_type)
                   for other in DOCUMENT_PREFERENCE if other is not fmt]
        links.append((fmt.extension, link_header(entries + [(LICENSE, "license", None)])))
    return links


def home_link() -> str:
    """The Link header of the home page."""
    return link_header([("/dataset", "describedby", "text/turtle"), (LICENSE, "license", None)])


def not_acceptable(formats: Iterable[Format]) -> str:
    """The body of a 406 (plain text, one line per fact, ending in a newline)."""
    offered = ", ".join(offered_types(list(formats)))
    return (f"406 Not acceptable: none of the requested media types is offered here; offered: {offered}\n"
            f"Offered: {offered}\n")


def kinds(release: Release) -> str:
    """The release's kinds of entity, for the 404 of an unknown index."""
    return ", ".join(release.kinds)
