"""Entity documents: the hot path, answered from memory.

``plan_document`` decides everything about a ``/doc/`` response (format, language, encoding,
headers, bytes) from the release and three request headers; the bytes come from
``Release.read``, which renders a document from the entity's stored triples the first time and
then keeps it in a bounded cache (``kazdata.entity_documents``, decision 007). The Flask route uses it, and so
does ``FastDocuments``, a WSGI layer in front of Flask that answers plain ``GET /doc/...``
requests (no Range, no query string) without entering Flask's routing, request and response
machinery: a dereference becomes a dictionary lookup plus Accept parsing. Anything it does not
answer itself (errors, Range, HEAD, every other URL) goes to Flask unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate

from werkzeug.datastructures import LanguageAccept, MIMEAccept
from werkzeug.http import parse_accept_header, parse_date, parse_etags

from kazdata.entities import EntityRef
from kazdata.errors import KazdataError
from kazdata.formats import GRAPH_FORMATS, HTML
from kazdata.namespaces import LICENSE
from kazdata.release import Release
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


def plan_document(release: Release, kind: str, slug: str, extension: str | None, *,
                  accept: MIMEAccept, languages: LanguageAccept, gzip_ok: bool) -> DocumentPlan:
    """The response to ``/doc/{kind}/{slug}[.{extension}]``; raises NotFound or NotAcceptable."""
    release.entity(kind, slug)
    ref = EntityRef(kind, slug)
    fmt = format_for(extension, accept, DOCUMENT_PREFERENCE)
    language = choose_language(languages, release.languages) if fmt is HTML else None
    file = release.entity_file(ref, fmt.extension, language)
    chosen, encoding = release.variant(file, gzip_ok)
    url_stem = f"/doc/{ref.path}"
    links = [(f"{url_stem}.{other.extension}", "alternate", other.media_type)
             for other in DOCUMENT_PREFERENCE if other is not fmt]
    links += [(f"{release.base}doc/{ref.path}", "canonical", None), (LICENSE, "license", None),
              ("/dataset", "describedby", "text/turtle")]
    headers = [
        ("Content-Type", fmt.content_type),
        ("Vary", "Accept, Accept-Language, Accept-Encoding" if fmt is HTML else "Accept, Accept-Encoding"),
        ("Content-Location", f"{url_stem}.{fmt.extension}"),
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
    return DocumentPlan(release.read(chosen.relative), chosen.etag, release.modified, headers)


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
        try:
            plan = plan_document(
                self.resources.release, kind, slug, extension,
                accept=parse_accept_header(environ.get("HTTP_ACCEPT"), MIMEAccept),
                languages=parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept),
                gzip_ok=bool(parse_accept_header(environ.get("HTTP_ACCEPT_ENCODING"))["gzip"]))
        except KazdataError:
            return self.flask_app(environ, start_response)  # Flask renders the error as asked
        headers = plan.headers + [("ETag", f'"{plan.etag}"'),
                                  ("Last-Modified", formatdate(plan.last_modified, usegmt=True))]
        if not_modified(plan, environ.get("HTTP_IF_NONE_MATCH"), environ.get("HTTP_IF_MODIFIED_SINCE")):
            start_response("304 Not Modified", [h for h in headers if h[0] not in ("Content-Type", "Content-Encoding")])
            return [b""]
        start_response("200 OK", headers + [("Content-Length", str(len(plan.body)))])
        return [plan.body]
