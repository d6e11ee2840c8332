"""The HTTP contract every server of a release keeps: routes, header values, Link headers, error
texts, the sitemap and the dumps listing.

The Python server (``kazdata.web``, its ``/doc/`` fast path included), the OpenAPI document and
the nginx and Apache configurations of a static export (``kazdata.export``) all answer the same
URLs with the same headers; each reads those facts here instead of writing them out again, so
they cannot drift apart. Nothing here imports Flask or Werkzeug: the export uses it without a
web framework.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from kazdata.entities.pages import template_environment
from kazdata.formats import GRAPH_FORMATS, HTML, Format
from kazdata.release.checksums import CHECKSUMS
from kazdata.release.opened import NAMED_GRAPHS, Release
from kazdata.vocabulary import LICENSE, Vocabulary

# -- Routes ---------------------------------------------------------------------------------

#: the methods of every route that only reads
READ = ("GET", "HEAD")


class Route(NamedTuple):
    """A URL pattern (OpenAPI's ``{name}`` syntax), the methods it answers and what it serves;
    ``name`` is the operation's id in the OpenAPI document."""

    name: str
    path: str
    methods: tuple[str, ...]
    serves: str

    @property
    def rule(self) -> str:
        """The pattern in Werkzeug's routing syntax (``<name>``)."""
        return re.sub(r"\{(\w+)\}", r"<\1>", self.path)


ROUTES: dict[str, Route] = {route.name: route for route in (
    Route("home", "/", READ, "the home page"),
    Route("timeline", "/timeline", READ, "the events in date order"),
    Route("kind-index", "/index/{kind}", READ, "the index of the entities of one kind"),
    Route("root-resource", "/id/", READ, "303 See Other to the dataset description (VoID's root resource)"),
    Route("releases", "/releases/", READ, "the releases kept: HTML, RDF (DCAT versions) or an Atom feed"),
    Route("release-version", "/releases/{version}", READ,
          "a release's version IRI: 303 See Other to its description; a version not kept is 404"),
    Route("release-dataset", "/releases/{version}/dataset", READ, "a kept release's VoID/DCAT description"),
    Route("release-sums", "/releases/{version}/SHA256SUMS", READ,
          "the checksums of a kept release's dumps and change set, by path under /releases/{version}/"),
    Route("release-dump", "/releases/{version}/dumps/{name}", READ, "a dump of a kept release"),
    Route("release-changes", "/releases/{version}/changes", READ,
          "what changed in a release: HTML, a JSON summary or RDF Patch"),
    Route("release-change-file", "/releases/{version}/changes/{name}", READ,
          "the triples of one graph a release added or removed, as N-Quads"),
    Route("memento", "/releases/{version}/doc/{kind}/{slug}", READ,
          "the document about an entity as a kept release has it (a Memento, RFC 7089)"),
    Route("timemap", "/timemap/id/{kind}/{slug}", READ, "an entity's TimeMap: link-format, RDF or HTML"),
    Route("dataset-timemap", "/timemap/dataset", READ, "the dataset description's TimeMap"),
    Route("identifier", "/id/{kind}/{slug}", READ, "303 See Other to the document about the entity"),
    Route("document", "/doc/{kind}/{slug}", READ, "the document about an entity, negotiated"),
    Route("ontology", "/ontology", READ, "the ontology, negotiated"),
    Route("ontology-suffix", "/ontology.{extension}", READ, "the ontology in the format of the suffix"),
    Route("ontology-version", "/ontology/{version}", READ, "the ontology at its owl:versionIRI, negotiated"),
    Route("graph", "/graph/{name}", READ, "a named graph of the release, negotiated (a suffix names the format)"),
    Route("shapes", "/shapes", READ, "the SHACL shapes, negotiated"),
    Route("shapes-suffix", "/shapes.{extension}", READ, "the shapes in the format of the suffix"),
    Route("dataset", "/dataset", READ, "the VoID and DCAT description, negotiated"),
    Route("dataset-suffix", "/dataset.{extension}", READ, "the description in the format of the suffix"),
    Route("well-known-void", "/.well-known/void", READ, "the VoID description (as /dataset)"),
    Route("context", "/context.jsonld", READ, "the JSON-LD context"),
    Route("sitemap", "/sitemap.xml", READ, "the sitemap, with absolute URLs under the public URL"),
    Route("dumps", "/dumps/", READ, "the download page"),
    Route("dump-checksums", "/dumps/SHA256SUMS", READ, "the checksums of the dumps"),
    Route("dump", "/dumps/{name}", READ, "a dump file"),
    Route("release-checksums", f"/{CHECKSUMS}", READ, "the checksums of every file served as it is, by URL path"),
    Route("sparql", "/sparql", ("GET", "POST", "HEAD", "OPTIONS"), "the SPARQL 1.1 Protocol endpoint"),
    Route("example", "/sparql/examples/{name}", READ, "an example query at a stable URL"),
    Route("static", "/static/{filename}", READ, "the style sheet and script of the pages"),
    Route("openapi", "/openapi.json", READ, "the OpenAPI description of these routes"),
    Route("favicon", "/favicon.ico", READ, "the site's icon (browsers ask for it at this path)"),
    Route("robots", "/robots.txt", READ, "what crawlers may fetch, and where the sitemap is"),
    Route("search", "/search", READ, "the entities whose names match the query q, by kind (an HTML page)"),
)}

#: URL name of a graph resource -> the stem of its files in the release (``/dataset`` is VoID).
GRAPH_FILES = {"ontology": "ontology", "shapes": "shapes", "dataset": "void"}
#: where VoID's root resource (``{base}id/``, the top of the entity IRIs) sends a client
ROOT_RESOURCE_TARGET = "/dataset"
#: Kinds and slugs the routes accept; the export refuses entities outside them, since they
#: reach headers (Link, Location) and file names.
KIND_PATTERN = "[a-z0-9_-]+"
SLUG_PATTERN = "[A-Za-z0-9_~-]+"
#: A raw request path the Python server answers 404 to (dot segments, encoded slashes,
#: backslashes or NUL) and that a web server would otherwise normalise into another URL.
UNSAFE_PATH = r"^[^?]*(?:(?:\.|%2e)(?:\.|%2e)|%2f|%5c|%00)"

# -- Header values --------------------------------------------------------------------------

#: CORS for a public, read-only, credential-free dataset: any origin may read.
ALLOW_ORIGIN = "*"
EXPOSED_HEADERS = ("ETag, Link, Content-Location, Content-Length, Vary, X-Kazdata-Truncated, Last-Modified, "
                   "Memento-Datetime")
CORS_HEADERS = (("Access-Control-Allow-Origin", ALLOW_ORIGIN), ("Access-Control-Expose-Headers", EXPOSED_HEADERS))
#: a preflight that names no headers is told these are allowed: negotiation, conditional requests, ranges
PREFLIGHT_ALLOW_HEADERS = ("Accept, Accept-Language, Content-Type, If-None-Match, If-Modified-Since, "
                           "If-Match, If-Unmodified-Since, If-Range, Range, Accept-Datetime")
PREFLIGHT_MAX_AGE = "86400"
#: no sniffing, no referrer leaks: sent with every response
NOSNIFF = "nosniff"
REFERRER_POLICY = "no-referrer"
SECURITY_HEADERS = (("X-Content-Type-Options", NOSNIFF), ("Referrer-Policy", REFERRER_POLICY))
#: sent with every HTML page
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                           "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
#: The language of every HTML page's own words (headings, labels, the ontology's terms), sent as
#: its Content-Language whatever variant Accept-Language picked: a variant differs only in the
#: names it prefers, which the page marks with their own ``lang`` (decision 018).
PAGE_LANGUAGE = "en"
#: A release never changes, but the same URL may serve the next release: clients revalidate
#: with the ETag after an hour instead of being told the content is immutable forever.
CACHE_CONTROL = "public, max-age=3600"
#: query results by GET: shorter, since a query may be costly to repeat but the release may switch
QUERY_CACHE_CONTROL = "public, max-age=300"
#: errors and POSTed queries
NO_STORE = "no-store"
#: the style sheet and script: sent with their ETag, revalidated on every use
REVALIDATE = "no-cache"
#: Vary of a negotiated RDF document, of an HTML one, and of what is negotiated on Accept alone
#: (errors, the 303 of an entity IRI, SPARQL responses)
VARY_DOCUMENT = "Accept, Accept-Encoding"
VARY_HTML_DOCUMENT = "Accept, Accept-Language, Accept-Encoding"
VARY_ACCEPT = "Accept"
TEXT_PLAIN = "text/plain; charset=utf-8"

#: Server preference when the client accepts several equally: RDF before HTML, so that
#: ``Accept: */*`` (curl, most libraries) gets Turtle and browsers, which ask for
#: text/html explicitly, get pages.
DOCUMENT_PREFERENCE: list[Format] = [*GRAPH_FORMATS.values(), HTML]


def file_vary(negotiated: str) -> str:
    """Vary of a release file: the headers it was negotiated on, and the encoding."""
    return f"{negotiated}, Accept-Encoding" if negotiated else "Accept-Encoding"


def document_vary(fmt: Format) -> str:
    """Vary of an entity document: HTML pages are negotiated on the language as well."""
    return VARY_HTML_DOCUMENT if fmt is HTML else VARY_DOCUMENT


# -- Link headers ---------------------------------------------------------------------------

Link = tuple[str, str, "str | None"]
#: the home page's links: what describes the dataset and its licence
HOME_LINKS: list[Link] = [("/dataset", "describedby", "text/turtle"), (LICENSE, "license", None)]


def link_header(links: Iterable[Link]) -> str:
    """``[(url, rel, type)]`` -> an RFC 8288 Link header value."""
    parts = []
    for url, rel, media_type in links:
        part = f'<{url}>; rel="{rel}"'
        if media_type:
            part += f'; type="{media_type}"'
        parts.append(part)
    return ", ".join(parts)


def document_links(stem: str, base: str, fmt: Format) -> str:
    """The Link header of ``/doc/{stem}`` sent as ``fmt``: its other formats, the canonical IRI,
    the licence and the dataset description. ``stem`` is ``kind/slug`` or a web server's
    expression for it."""
    links: list[Link] = [(f"/doc/{stem}.{other.extension}", "alternate", other.media_type)
                         for other in DOCUMENT_PREFERENCE if other is not fmt]
    links += [(Vocabulary(base).document(stem), "canonical", None), (LICENSE, "license", None),
              ("/dataset", "describedby", "text/turtle")]
    return link_header(links)


def graph_links(url: str, fmt: Format, formats: Iterable[Format]) -> str:
    """The Link header of a graph resource (``/ontology`` ...) sent as ``fmt``: its other
    ``formats`` and the licence."""
    links: list[Link] = [(f"{url}.{other.extension}", "alternate", other.media_type)
                         for other in formats if other is not fmt]
    return link_header(links + [(LICENSE, "license", None)])

# -- Error texts ----------------------------------------------------------------------------

#: The longest request target (path and query string, as sent) answered: a little under the 8 KiB
#: request line that nginx, Apache and gunicorn take by default, so a URL works or fails alike
#: behind any of them, and far under granian's own hard limit (64 KiB, from the ``http`` crate),
#: past which granian answers 414 itself, with an empty body (docs/decisions/011).
MAX_URL_LENGTH = 8000


def url_too_long(length: int | None) -> str:
    """The 414's message; ``length`` is None when the server stopped reading the request line
    before its end (gunicorn past its own limit)."""
    size = f"{length} bytes long" if length is not None else "too long to read"
    return (f"the URL is {size}, more than the {MAX_URL_LENGTH} bytes this server takes; "
            "send a long SPARQL query by POST instead (Content-Type application/sparql-query, or a "
            "form with a 'query' field)")



def nothing_published(path: str) -> str:
    return f"nothing is published at {path}"


def see_other(target: str) -> str:
    """The plain-text body of a 303 to the document about a resource."""
    return f"303 See Other: the document about this resource is at {target}\n"


def no_index(kind: str, kinds: Iterable[str]) -> str:
    return f"there is no index of {kind!r}; kinds: " + ", ".join(kinds)


def no_graph(name: str, graphs: Iterable[str]) -> str:
    return f"there is no named graph {name!r} in this release; graphs: " + ", ".join(graphs)


def no_ontology_version(version: str, versions: Iterable[str]) -> str:
    return f"this release does not serve version {version!r} of the ontology; it serves " + (
        ", ".join(sorted(versions)) or "no versioned ontology")


def no_release_version(version: str, kept: Iterable[str]) -> str:
    return f"there is no release {version!r}; the releases kept are: " + ", ".join(kept)


def bad_accept_datetime(value: str) -> str:
    return (f"Accept-Datetime must be an HTTP date such as 'Thu, 03 Dec 2026 12:00:00 GMT' "
            f"(RFC 7089, section 2.1.1), not {value!r}")


#: Vary of a TimeGate's answers (RFC 7089, section 4.1.1), and of a TimeGate that is also the
#: original resource and answers without the header
VARY_TIMEGATE = "Accept, Accept-Datetime"


def offered_types(formats: Iterable[Format]) -> list[str]:
    return [media_type for fmt in formats for media_type in fmt.media_types]


def not_acceptable(offered: Iterable[str]) -> str:
    return "none of the requested media types is offered here; offered: " + ", ".join(offered)


def unknown_suffix(extension: str, formats: Iterable[Format]) -> str:
    return f"no format with extension .{extension}; offered: " + ", ".join("." + f.extension for f in formats)

# -- Computed pages -------------------------------------------------------------------------


def robots_txt(root: str) -> str:
    """/robots.txt: crawlers are welcome on the pages and documents, kept off the SPARQL
    endpoint's query URLs (each one a query to run) and pointed to the sitemap, at ``root``
    (the public URL without its final ``/``: a sitemap's address is absolute)."""
    return f"User-agent: *\nDisallow: /sparql?\nAllow: /\nSitemap: {root}/sitemap.xml\n"

#: the site's pages a sitemap lists before the kind indexes and the documents
SITEMAP_PAGES = ("/", "/timeline", "/ontology", "/shapes", "/sparql", "/dumps/")


def sitemap(release: Release, root: str) -> str:
    """/sitemap.xml: every page and document, as absolute URLs under ``root`` (the public URL
    without its final ``/``: the ``public_url`` setting, else the release's base)."""
    paths = [*SITEMAP_PAGES, *(f"/index/{kind}" for kind in release.kinds),
             *(f"/doc/{path}" for path in sorted(release.entities))]
    return template_environment().get_template("sitemap.xml").render(root=root, paths=paths)


#: release path prefix -> URL path (without the leading "/") at which the files under it are sent
#: byte for byte: what ``/SHA256SUMS`` lists. Pages and entity documents are negotiated or
#: rendered, so no fixed URL sends a given file of theirs; they are not listed.
PUBLISHED_FILES = {"context.jsonld": "context.jsonld", "ontology.": "ontology.", "shapes.": "shapes.",
                   "void.": "dataset.", "dumps/": "dumps/", f"{NAMED_GRAPHS}/": "graph/"}


def published_checksums(release: Release) -> str:
    """``/SHA256SUMS``: the SHA-256 of every file sent as it is at a URL of its own, by that URL's
    path relative to the site root, so that each line names something this server sends
    (``sha256sum -c`` works on a mirror of those URLs)."""
    lines = []
    for name, digest in release.digests.items():
        prefix = next((p for p in PUBLISHED_FILES if name.startswith(p)), None)
        if prefix is not None:
            lines.append(f"{digest}  {PUBLISHED_FILES[prefix]}{name[len(prefix):]}\n")
    return "".join(sorted(lines, key=lambda line: line[66:]))


def dumps_listing(release: Release) -> str:
    """/dumps/: every dump with its size and SHA-256."""
    files = [{"name": name[len("dumps/"):], "size": (release.directory / name).stat().st_size, "sha256": digest}
             for name, digest in sorted(release.digests.items()) if name.startswith("dumps/")]
    return template_environment().get_template("dumps.html").render(
        language="en", title="Downloads", files=files, version=release.version, formats={})
