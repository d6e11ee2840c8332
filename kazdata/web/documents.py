"""Entity documents: the hot path, answered from memory.

``plan_document`` decides everything about a ``/doc/`` response (format, language, encoding,
headers, bytes) from the release and three request headers; the bytes come from
``Release.read``, which renders a document from the entity's stored triples the first time and
then keeps it in a bounded cache (``kazdata.release.document_packs``, decision 007). The Flask route uses it, and so
does ``FastDocuments``, a WSGI layer in front of Flask that answers plain ``GET /doc/...``
requests (no Range, no query string) without entering Flask's routing, request and response
machinery: a dereference becomes a few dictionary lookups (``Choices`` remembers what each set
of request headers negotiates, header templates are built once per format). Anything it does not
answer itself (errors, Range, HEAD, every other URL) goes to Flask unchanged. Both read their
header values and links from ``kazdata.http_contract`` and decide conditional requests with
Werkzeug's ``is_resource_modified`` (weak comparison for If-None-Match, as RFC 9110 asks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from werkzeug.datastructures import LanguageAccept, MIMEAccept
from werkzeug.http import is_resource_modified

from kazdata.entities.description import EntityRef
from kazdata.errors import KazdataError
from kazdata.formats import HTML, Format
from kazdata.http_contract import (
    CACHE_CONTROL,
    CONTENT_SECURITY_POLICY,
    CORS_HEADERS,
    DOCUMENT_PREFERENCE,
    PAGE_LANGUAGE,
    SECURITY_HEADERS,
    document_links,
    document_vary,
)
from kazdata.release.opened import Release, entity_relative
from kazdata.web.negotiation import (
    accepts_gzip,
    choose_language,
    format_for,
    parse_accept,
    parse_accept_language,
)
from kazdata.web.resources import SERVED, Resources, Served

#: where an entity's path goes in a header template (never in a path, a base IRI or a media type)
_PATH = "\0"
#: headers a 304 leaves out: it has no body
_BODY_HEADERS = ("Content-Type", "Content-Encoding")


@dataclass(frozen=True)
class DocumentPlan:
    """A decided response: body bytes, strong ETag, and every header but the conditional ones."""

    body: bytes
    etag: str
    last_modified: float
    headers: list[tuple[str, str]]


@dataclass(frozen=True)
class Choice:
    """What the request headers pick for a document: the format, the page language (HTML
    only) and whether the client takes the gzip copy."""

    fmt: Format
    language: str | None
    gzip_ok: bool


def choose_representation(release: Release, extension: str | None, accept: MIMEAccept,
                          languages: LanguageAccept, gzip_ok: bool) -> Choice:
    """Werkzeug's negotiation among ``DOCUMENT_PREFERENCE``; raises NotFound (unknown suffix) or
    NotAcceptable."""
    fmt = format_for(extension, accept, DOCUMENT_PREFERENCE)
    language = choose_language(languages, release.languages) if fmt is HTML else None
    return Choice(fmt, language, gzip_ok)


@lru_cache(maxsize=256)
def _header_template(base: str, fmt: Format, language: str | None, encoding: str | None) -> tuple:
    """Every header of a document but ETag and Last-Modified, as pieces to join with the entity's
    path: all but two headers are the same for every entity of a format, language and encoding."""
    headers = [
        ("Content-Type", fmt.content_type),
        ("Vary", document_vary(fmt)),
        ("Content-Location", f"/doc/{_PATH}.{fmt.extension}"),
        ("Link", document_links(_PATH, base, fmt)),
        ("Cache-Control", CACHE_CONTROL),
        ("Accept-Ranges", "bytes"),  # FastDocuments passes Range requests to Flask, which serves them
        *CORS_HEADERS,
        *SECURITY_HEADERS,
    ]
    if encoding:
        headers.append(("Content-Encoding", encoding))
    if fmt is HTML:
        headers += [("Content-Language", PAGE_LANGUAGE), ("Content-Security-Policy", CONTENT_SECURITY_POLICY)]
    return tuple((name, tuple(value.split(_PATH))) for name, value in headers)


def document_headers(base: str, ref: EntityRef, fmt: Format, language: str | None,
                     encoding: str | None) -> list[tuple[str, str]]:
    path = ref.path
    return [(name, path.join(pieces)) for name, pieces in _header_template(base, fmt, language, encoding)]


def plan_representation(release: Release, ref: EntityRef, choice: Choice) -> DocumentPlan:
    """The response for an entity that exists, in the representation chosen."""
    file = release.entity_file(ref, choice.fmt.extension, choice.language)
    chosen, encoding = release.variant(file, choice.gzip_ok)
    return DocumentPlan(release.read(chosen.relative), chosen.etag, release.modified,
                        document_headers(release.base, ref, choice.fmt, choice.language, encoding))


def plan_document(release: Release, kind: str, slug: str, extension: str | None, *,
                  accept: MIMEAccept, languages: LanguageAccept, gzip_ok: bool) -> DocumentPlan:
    """The response to ``/doc/{kind}/{slug}[.{extension}]``; raises NotFound or NotAcceptable."""
    release.entity(kind, slug)
    return plan_representation(release, EntityRef(kind, slug),
                               choose_representation(release, extension, accept, languages, gzip_ok))


class Choices:
    """``choose_representation`` remembered per distinct request headers, per release.

    Parsing three headers and Werkzeug's ``best_match`` cost most of a dereference in the worker
    (docs/decisions/007-documents-at-scale.md), and clients send the same few header values over
    and over. The decision is a pure function of the headers and the release's languages, so it
    is kept in the served release's bounded ``choices`` cache (dropped with the release).
    Failures (406, unknown suffix) are not remembered: Flask renders them.
    """

    @staticmethod
    def get(served: Served, extension: str | None, accept: str | None, accept_language: str | None,
            accept_encoding: str | None) -> Choice:
        return served.caches.choices.get_or_compute(
            (extension, accept, accept_language, accept_encoding),
            lambda: choose_representation(served.release, extension, parse_accept(accept),
                                          parse_accept_language(accept_language), accepts_gzip(accept_encoding)))


def modified_since(environ: dict, plan: DocumentPlan) -> bool:
    """False when the request's If-None-Match (weakly) or If-Modified-Since matches ``plan``."""
    if "HTTP_IF_NONE_MATCH" not in environ and "HTTP_IF_MODIFIED_SINCE" not in environ:
        return True
    return is_resource_modified(environ, etag=plan.etag,
                                last_modified=datetime.fromtimestamp(plan.last_modified, UTC))


def in_memory(release: Release, ref: EntityRef, choice: Choice) -> bool:
    """Whether ``plan_representation`` would find every byte it reads in memory (nothing to
    render, nothing read from disk): what an event loop may answer without blocking."""
    relative = entity_relative(ref, choice.fmt.extension, choice.language)
    if not release.in_memory(relative):
        return False
    return not (choice.gzip_ok and release.has(relative + ".gz")) or release.in_memory(relative + ".gz")


def answer_document(environ: dict, served: Served, *,
                    may_render: bool = True) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """(status, headers, body) for a plain ``GET /doc/...`` of an entity; None for everything
    Flask answers instead (errors, Range, HEAD, query strings, other URLs) and, when not
    ``may_render``, for a document not yet in memory."""
    path = environ.get("PATH_INFO", "")
    if (not path.startswith("/doc/") or environ.get("REQUEST_METHOD") != "GET"
            or environ.get("HTTP_RANGE") or environ.get("QUERY_STRING")):
        return None
    parts = path[len("/doc/"):].split("/")
    if len(parts) != 2:
        return None
    kind, slug = parts
    extension = None
    if "." in slug:
        slug, extension = slug.rsplit(".", 1)
    release = served.release
    try:
        release.entity(kind, slug)
        choice = Choices.get(served, extension, environ.get("HTTP_ACCEPT"),
                             environ.get("HTTP_ACCEPT_LANGUAGE"), environ.get("HTTP_ACCEPT_ENCODING"))
        ref = EntityRef(kind, slug)
        if not may_render and not in_memory(release, ref, choice):
            return None
        plan = plan_representation(release, ref, choice)
    except KazdataError:
        return None  # Flask renders the error as asked
    headers = plan.headers + [("ETag", f'"{plan.etag}"'), ("Last-Modified", served.caches.http_date)]
    if not modified_since(environ, plan):
        return "304 Not Modified", [h for h in headers if h[0] not in _BODY_HEADERS], b""
    return "200 OK", headers + [("Content-Length", str(len(plan.body)))], plan.body


class FastDocuments:
    """WSGI layer answering plain ``GET /doc/...`` from memory; everything else goes to Flask.

    Every request passes here first, so this is where it takes its release snapshot."""

    def __init__(self, flask_app: Callable, resources: Resources) -> None:
        self.flask_app = flask_app
        self.resources = resources

    def __call__(self, environ: dict, start_response: Callable):
        served = environ[SERVED] = self.resources.served()  # once: the request finishes on this release
        answer = answer_document(environ, served)
        if answer is None:
            return self.flask_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [body]
