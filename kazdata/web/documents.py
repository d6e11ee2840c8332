"""Entity documents: the hot path, answered from memory.

``plan_document`` decides everything about a ``/doc/`` response (format, language, encoding,
headers, bytes) from the release and three request headers; the bytes come from
``Release.read``, which renders a document from the entity's stored triples the first time and
then keeps it in a bounded cache (``kazdata.release.document_packs``, decision 007). The Flask route uses it, and so
does ``FastDocuments``, a WSGI layer in front of Flask that answers plain ``GET /doc/...``
requests (no Range, no query string) without entering Flask's routing, request and response
machinery: a dereference becomes a few dictionary lookups (``Choices`` remembers what each set
of request headers negotiates, header templates are built once per format). Anything it does not
answer itself (errors, Range, HEAD, every other URL) goes to Flask unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from functools import lru_cache

from werkzeug.datastructures import LanguageAccept, MIMEAccept
from werkzeug.http import parse_accept_header, parse_date, parse_etags

from kazdata.entities.description import EntityRef
from kazdata.errors import KazdataError
from kazdata.formats import GRAPH_FORMATS, HTML, Format
from kazdata.release.opened import Release
from kazdata.vocabulary import LICENSE, Vocabulary
from kazdata.web.cors import EXPOSED
from kazdata.web.negotiation import choose_language, format_for
from kazdata.web.security import CONTENT_SECURITY_POLICY

#: Server preference when the client accepts several equally: RDF before HTML, so that
#: ``Accept: */*`` (curl, most libraries) gets Turtle and browsers, which ask for
#: text/html explicitly, get pages.
DOCUMENT_PREFERENCE = [*GRAPH_FORMATS.values(), HTML]
#: A release never changes, but the same URL may serve the next release: clients revalidate
#: with the ETag after an hour instead of being told the content is immutable forever.
CACHE_CONTROL = "public, max-age=3600"
#: where an entity's path goes in a header template (never in a path, a base IRI or a media type)
_PATH = "\0"


@dataclass(frozen=True)
class DocumentPlan:
    """A decided response: body bytes, strong ETag, and every header but the conditional ones."""

    body: bytes
    etag: str
    last_modified: float
    headers: list[tuple[str, str]]


def link_header(links: Iterable[tuple[str, str, str | None]]) -> str:
    """``[(url, rel, type)]`` -> an RFC 8288 Link header value."""
    parts = []
    for url, rel, media_type in links:
        part = f'<{url}>; rel="{rel}"'
        if media_type:
            part += f'; type="{media_type}"'
        parts.append(part)
    return ", ".join(parts)


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
    stem = f"/doc/{_PATH}"
    links = [(f"{stem}.{other.extension}", "alternate", other.media_type)
             for other in DOCUMENT_PREFERENCE if other is not fmt]
    links += [(Vocabulary(base).document(_PATH), "canonical", None), (LICENSE, "license", None),
              ("/dataset", "describedby", "text/turtle")]
    headers = [
        ("Content-Type", fmt.content_type),
        ("Vary", "Accept, Accept-Language, Accept-Encoding" if fmt is HTML else "Accept, Accept-Encoding"),
        ("Content-Location", f"{stem}.{fmt.extension}"),
        ("Link", link_header(links)),
        ("Cache-Control", CACHE_CONTROL),
        ("Accept-Ranges", "bytes"),  # FastDocuments passes Range requests to Flask, which serves them
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", EXPOSED),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]
    if encoding:
        headers.append(("Content-Encoding", encoding))
    if fmt is HTML:
        headers += [("Content-Language", language), ("Content-Security-Policy", CONTENT_SECURITY_POLICY)]
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

    Parsing three headers and Werkzeug's ``best_match`` were two thirds of a dereference's
    time in the worker (measured with cProfile: ~65 of ~100 us), and clients send the same few
    header values over and over. The decision is a pure function of the headers and the
    release's languages, so it is kept in ``release.memo`` (dropped with the release); at most
    ``MAX_CHOICES`` are kept, so a client varying its headers costs memory for no longer than that.
    Failures (406, unknown suffix) are not remembered: Flask renders them.
    """

    MAX_CHOICES = 1024

    @classmethod
    def get(cls, release: Release, extension: str | None, accept: str | None, accept_language: str | None,
            accept_encoding: str | None) -> Choice:
        memo = release.memo.get(cls)
        if memo is None:
            memo = release.memo.setdefault(cls, {})
        key = (extension, accept, accept_language, accept_encoding)
        choice = memo.get(key)
        if choice is None:
            choice = choose_representation(
                release, extension, parse_accept_header(accept, MIMEAccept),
                parse_accept_header(accept_language, LanguageAccept),
                bool(parse_accept_header(accept_encoding)["gzip"]))
            if len(memo) >= cls.MAX_CHOICES:
                memo.clear()
            memo[key] = choice
        return choice


def http_date(release: Release) -> str:
    """The release's Last-Modified, formatted once per release."""
    date = release.memo.get(http_date)
    if date is None:
        date = release.memo[http_date] = formatdate(release.modified, usegmt=True)
    return date


def not_modified(plan: DocumentPlan, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since."""
    if if_none_match:
        return parse_etags(if_none_match).contains(plan.etag)
    if if_modified_since:
        since = parse_date(if_modified_since)
        return since is not None and int(plan.last_modified) <= since.timestamp()
    return False


class FastDocuments:
    """WSGI layer answering plain ``GET /doc/...`` from memory; everything else goes to Flask."""

    def __init__(self, flask_app: Callable, resources) -> None:
        self.flask_app = flask_app
        self.resources = resources

    def __call__(self, environ: dict, start_response: Callable):
        path = environ.get("PATH_INFO", "")
        if (not path.startswith("/doc/") or environ.get("REQUEST_METHOD") != "GET"
                or environ.get("HTTP_RANGE") or environ.get("QUERY_STRING")):
            return self.flask_app(environ, start_response)
        parts = path[len("/doc/"):].split("/")
        if len(parts) != 2:
            return self.flask_app(environ, start_response)
        kind, slug = parts
        extension = None
        if "." in slug:
            slug, extension = slug.rsplit(".", 1)
        release = self.resources.release
        try:
            release.entity(kind, slug)
            choice = Choices.get(release, extension, environ.get("HTTP_ACCEPT"),
                                 environ.get("HTTP_ACCEPT_LANGUAGE"), environ.get("HTTP_ACCEPT_ENCODING"))
            plan = plan_representation(release, EntityRef(kind, slug), choice)
        except KazdataError:
            return self.flask_app(environ, start_response)  # Flask renders the error as asked
        headers = plan.headers + [("ETag", f'"{plan.etag}"'), ("Last-Modified", http_date(release))]
        if not_modified(plan, environ.get("HTTP_IF_NONE_MATCH"), environ.get("HTTP_IF_MODIFIED_SINCE")):
            start_response("304 Not Modified", [h for h in headers if h[0] not in ("Content-Type", "Content-Encoding")])
            return [b""]
        start_response("200 OK", headers + [("Content-Length", str(len(plan.body)))])
        return [plan.body]
