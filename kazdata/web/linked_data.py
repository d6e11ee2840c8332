"""Dereferenceable URIs (the W3C "Cool URIs" 303 recipe) and everything else that has a URI.

``/id/{type}/{slug}`` names the thing and answers 303 to ``/doc/{type}/{slug}``, the document
about it, which is negotiated among the formats of ``kazdata.formats.DOCUMENT_FORMATS``. RDF
keeps the canonical IRIs (``{base}id/...``); links in HTML pages are host-relative, so the same
release browses correctly on any host.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from kazdata.errors import NotFound
from kazdata.formats import GRAPH_FORMATS, HTML, JSON_LD, Format
from kazdata.http_contract import (
    CACHE_CONTROL,
    GRAPH_FILES,
    HOME_LINKS,
    PAGE_LANGUAGE,
    ROOT_RESOURCE_TARGET,
    TEXT_PLAIN,
    VARY_ACCEPT,
    VARY_HTML_DOCUMENT,
    graph_links,
    link_header,
    no_graph,
    no_index,
    no_ontology_version,
    nothing_published,
    see_other,
)
from kazdata.release.opened import NAMED_GRAPHS, Release
from kazdata.web.cors import add_cors
from kazdata.web.documents import plan_document
from kazdata.web.negotiation import accepts_gzip, choose_format, choose_language, format_for
from kazdata.web.resources import public_url, served
from kazdata.web.routes import route
from kazdata.web.sending import send_release_file

blueprint = Blueprint("linked_data", __name__)


def _release() -> Release:
    return served().release


def _send_graph(stem: str, url: str, fmt: Format, formats: list[Format]) -> Response:
    """Send the RDF file ``{stem}.{ext}`` of the release, served at ``{url}.{ext}``."""
    release = _release()
    response = send_release_file(release, release.file(f"{stem}.{fmt.extension}"), fmt, vary=VARY_ACCEPT)
    response.headers["Content-Location"] = f"{url}.{fmt.extension}"
    response.headers["Link"] = graph_links(url, fmt, formats)
    return response


@route(blueprint, "identifier")
def identifier(kind: str, slug: str) -> BaseResponse:
    """303 See Other for every Accept: the IRI names a thing, not a document."""
    _release().entity(kind, slug)
    return _see_other(f"/doc/{kind}/{slug}")


@route(blueprint, "root-resource")
def root_resource() -> BaseResponse:
    """``{base}id/``, VoID's root resource: the top of the entity IRIs, which has no document of
    its own; the dataset description lists what is under it (its kinds, example resources)."""
    return _see_other(ROOT_RESOURCE_TARGET)


def _see_other(target: str) -> BaseResponse:
    response = redirect(target, code=303)
    response.set_data(see_other(target))
    response.headers["Content-Type"] = TEXT_PLAIN
    response.headers["Vary"] = VARY_ACCEPT
    response.headers["Cache-Control"] = CACHE_CONTROL
    return add_cors(response)


@route(blueprint, "document")
def document(kind: str, slug: str) -> BaseResponse:
    """What ``FastDocuments`` does not answer itself (HEAD, Range, query strings) comes here.

    ``/doc/{kind}/{slug}/`` is not the document (the app's routes ignore a trailing slash): one
    URL per document, so that caches and search engines do not keep two copies."""
    if request.path.endswith("/"):
        raise NotFound(nothing_published(request.path))
    extension = None
    if "." in slug:
        slug, extension = slug.rsplit(".", 1)
    plan = plan_document(_release(), kind, slug, extension, accept=request.accept_mimetypes,
                         languages=request.accept_languages,
                         gzip_ok=accepts_gzip(request.headers.get("Accept-Encoding")) and not request.headers.get("Range"))
    response = Response(plan.body, headers=plan.headers)
    response.set_etag(plan.etag)
    response.last_modified = datetime.fromtimestamp(plan.last_modified, UTC)  # as werkzeug reads a float
    return response.make_conditional(request, accept_ranges=True, complete_length=len(plan.body))


def _site_page(name: str, negotiate: bool = True) -> Response:
    """A page of the site (home, timeline, indexes): HTML only, in the client's language."""
    release = _release()
    if negotiate:
        choose_format(request.accept_mimetypes, [HTML])  # 406 for a client that refuses HTML
    language = choose_language(request.accept_languages, release.languages)
    response = send_release_file(release, release.file(f"pages/{name}.{language}.html"), HTML,
                                 vary="Accept-Language")
    response.headers["Content-Language"] = PAGE_LANGUAGE
    return response


@route(blueprint, "home")
def home() -> Response:
    response = _site_page("home")
    response.headers["Link"] = link_header(HOME_LINKS)
    return response


@route(blueprint, "timeline")
def timeline() -> Response:
    return _site_page("timeline")


@route(blueprint, "kind-index")
def kind_index(kind: str) -> Response:
    release = _release()
    if not release.has(f"pages/kind-{kind}.en.html"):
        raise NotFound(no_index(kind, release.kinds))
    return _site_page(f"kind-{kind}")


def _graph_resource(stem: str, url: str, extension: str | None, html_page: str | None) -> Response:
    """The ontology, shapes and dataset description: negotiated; HTML where a page exists."""
    formats = [*GRAPH_FORMATS.values()] + ([HTML] if html_page else [])
    fmt = format_for(extension, request.accept_mimetypes, formats)
    if fmt is HTML:
        assert html_page is not None  # HTML is offered only with a page
        response = _site_page(html_page, negotiate=False)  # already chosen, by Accept or by the suffix
        response.headers["Vary"] = VARY_HTML_DOCUMENT
        return response
    return _send_graph(stem, url, fmt, formats)


@route(blueprint, "ontology", "ontology-suffix")
def ontology(extension: str | None = None) -> Response:
    return _graph_resource(GRAPH_FILES["ontology"], "/ontology", extension, "ontology")


@route(blueprint, "ontology-version")
def ontology_version(version: str) -> Response:
    """The ontology's ``owl:versionIRI``: this release's ontology, as at ``/ontology``; other
    versions are not served."""
    release = _release()
    if f"{release.base}ontology/{version}" not in release.ontology_versions:
        raise NotFound(no_ontology_version(version, release.ontology_versions))
    return _graph_resource(GRAPH_FILES["ontology"], "/ontology", None, "ontology")


@route(blueprint, "graph")
def named_graph(name: str) -> Response:
    """A named graph of the release (``{base}graph/{name}``, as VoID lists them), negotiated
    among the RDF formats; ``.{extension}`` names one. No HTML: the graph is data."""
    release = _release()
    extension = None
    if not release.has(f"{NAMED_GRAPHS}/{name}.nt") and "." in name:
        name, extension = name.rsplit(".", 1)
    if not release.has(f"{NAMED_GRAPHS}/{name}.nt"):
        raise NotFound(no_graph(name, release.graphs))
    formats = list(GRAPH_FORMATS.values())
    return _send_graph(f"{NAMED_GRAPHS}/{name}", f"/graph/{name}", format_for(extension, request.accept_mimetypes, formats),
                       formats)


@route(blueprint, "shapes", "shapes-suffix")
def shapes(extension: str | None = None) -> Response:
    return _graph_resource(GRAPH_FILES["shapes"], "/shapes", extension, "shapes")


@route(blueprint, "dataset", "dataset-suffix", "well-known-void")
def dataset(extension: str | None = None) -> Response:
    return _graph_resource(GRAPH_FILES["dataset"], "/dataset", extension, "dataset")


@route(blueprint, "context")
def context() -> Response:
    release = _release()
    return send_release_file(release, release.file("context.jsonld"), JSON_LD, vary="")


@route(blueprint, "sitemap")
def sitemap() -> Response:
    """Computed once from the entity index under the public URL (sitemaps need absolute URLs;
    the Host header is the client's to choose, so it is not used)."""
    snapshot = served()
    root = public_url(snapshot.release).rstrip("/")
    response = Response(snapshot.caches.sitemap(root), content_type="application/xml; charset=utf-8")
    response.headers["Cache-Control"] = CACHE_CONTROL
    return add_cors(response)
