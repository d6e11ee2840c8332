"""Dereferenceable URIs (the W3C "Cool URIs" 303 recipe) and everything else that has a URI.

``/id/{type}/{slug}`` names the thing and answers 303 to ``/doc/{type}/{slug}``, the document
about it, which is negotiated among the formats of ``kazdata.formats.DOCUMENT_FORMATS``. RDF
keeps the canonical IRIs (``{base}id/...``); links in HTML pages are host-relative, so the same
release browses correctly on any host.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, request
from werkzeug.utils import escape

from kazdata.errors import NotFound
from kazdata.formats import GRAPH_FORMATS, HTML, JSON_LD
from kazdata.vocabulary import LICENSE
from kazdata.web.cors import add_cors
from kazdata.web.documents import link_header, plan_document
from kazdata.web.negotiation import choose_format, choose_language, format_for
from kazdata.web.sending import send_release_file

blueprint = Blueprint("linked_data", __name__)


def _release():
    return current_app.extensions["kazdata"].release


def _send_graph(stem: str, url: str, fmt, formats) -> Response:
    """Send the RDF file ``{stem}.{ext}`` of the release, served at ``{url}.{ext}``."""
    release = _release()
    response = send_release_file(release, release.file(f"{stem}.{fmt.extension}"), fmt, vary="Accept")
    response.headers["Content-Location"] = f"{url}.{fmt.extension}"
    alternates = [(f"{url}.{other.extension}", "alternate", other.media_type)
                  for other in formats if other is not fmt]
    response.headers["Link"] = link_header(alternates + [(LICENSE, "license", None)])
    return response


@blueprint.route("/id/<kind>/<slug>", methods=["GET", "HEAD"])
def identifier(kind: str, slug: str) -> Response:
    """303 See Other for every Accept: the IRI names a thing, not a document."""
    _release().entity(kind, slug)
    target = f"/doc/{kind}/{slug}"
    response = redirect(target, code=303)
    response.set_data(f"303 See Other: the document about this resource is at {target}\n")
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return add_cors(response)


@blueprint.route("/doc/<kind>/<slug>", methods=["GET", "HEAD"])
def document(kind: str, slug: str) -> Response:
    """What ``FastDocuments`` does not answer itself (HEAD, Range, query strings) comes here."""
    extension = None
    if "." in slug:
        slug, extension = slug.rsplit(".", 1)
    plan = plan_document(_release(), kind, slug, extension, accept=request.accept_mimetypes,
                         languages=request.accept_languages,
                         gzip_ok=bool(request.accept_encodings["gzip"]) and not request.headers.get("Range"))
    response = Response(plan.body, headers=plan.headers)
    response.set_etag(plan.etag)
    response.last_modified = plan.last_modified
    return response.make_conditional(request, accept_ranges=True, complete_length=len(plan.body))


def _site_page(name: str, negotiate: bool = True) -> Response:
    """A page of the site (home, timeline, indexes): HTML only, in the client's language."""
    release = _release()
    if negotiate:
        choose_format(request.accept_mimetypes, [HTML])  # 406 for a client that refuses HTML
    language = choose_language(request.accept_languages, release.languages)
    response = send_release_file(release, release.file(f"pages/{name}.{language}.html"), HTML,
                                 vary="Accept-Language")
    response.headers["Content-Language"] = language
    return response


@blueprint.route("/", methods=["GET", "HEAD"])
def home() -> Response:
    response = _site_page("home")
    response.headers["Link"] = link_header([("/dataset", "describedby", "text/turtle"),
                                            (LICENSE, "license", None)])
    return response


@blueprint.route("/timeline", methods=["GET", "HEAD"])
def timeline() -> Response:
    return _site_page("timeline")


@blueprint.route("/index/<kind>", methods=["GET", "HEAD"])
def kind_index(kind: str) -> Response:
    if not _release().has(f"pages/kind-{kind}.en.html"):
        raise NotFound(f"there is no index of {kind!r}; kinds: "
                       + ", ".join(_release().kinds))
    return _site_page(f"kind-{kind}")


def _graph_resource(stem: str, url: str, extension: str | None, html_page: str | None) -> Response:
    """The ontology, shapes and dataset description: negotiated; HTML where a page exists."""
    formats = [*GRAPH_FORMATS.values()] + ([HTML] if html_page else [])
    fmt = format_for(extension, request.accept_mimetypes, formats)
    if fmt is HTML:
        response = _site_page(html_page, negotiate=False)  # already chosen, by Accept or by the suffix
        response.headers["Vary"] = "Accept, Accept-Language, Accept-Encoding"
        return response
    return _send_graph(stem, url, fmt, formats)


@blueprint.route("/ontology", methods=["GET", "HEAD"])
@blueprint.route("/ontology.<extension>", methods=["GET", "HEAD"])
def ontology(extension: str | None = None) -> Response:
    return _graph_resource("ontology", "/ontology", extension, "ontology")


@blueprint.route("/shapes", methods=["GET", "HEAD"])
@blueprint.route("/shapes.<extension>", methods=["GET", "HEAD"])
def shapes(extension: str | None = None) -> Response:
    return _graph_resource("shapes", "/shapes", extension, "shapes")


@blueprint.route("/dataset", methods=["GET", "HEAD"])
@blueprint.route("/dataset.<extension>", methods=["GET", "HEAD"])
@blueprint.route("/.well-known/void", methods=["GET", "HEAD"])
def dataset(extension: str | None = None) -> Response:
    return _graph_resource("void", "/dataset", extension, "dataset")


@blueprint.route("/context.jsonld", methods=["GET", "HEAD"])
def context() -> Response:
    release = _release()
    return send_release_file(release, release.file("context.jsonld"), JSON_LD, vary="")


@blueprint.route("/sitemap.xml", methods=["GET", "HEAD"])
def sitemap() -> Response:
    """Computed from the entity index for the serving host (sitemaps need absolute URLs)."""
    root = request.host_url.rstrip("/")
    paths = ["/", "/timeline", "/ontology", "/shapes", "/sparql", "/dumps/"]
    paths += [f"/index/{kind}" for kind in _release().kinds]
    paths += [f"/doc/{path}" for path in sorted(_release().entities)]
    body = ['<?xml version="1.0" encoding="UTF-8"?>',
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    body += [f"<url><loc>{escape(root + path)}</loc></url>" for path in paths]
    body.append("</urlset>\n")
    response = Response("\n".join(body), content_type="application/xml; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return add_cors(response)
