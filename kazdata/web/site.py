"""What a browser or a crawler asks of any site: ``/favicon.ico``, ``/robots.txt``, and the
search page ``/search?q=`` (a form and a page of results: no script needed).

Browsers ask for ``/favicon.ico`` whether or not a page names an icon, so it is served from the
static folder rather than left to fill the error log with 404s; ``/robots.txt`` names the
sitemap under the public URL (never the Host header, as for the sitemap itself).
"""

from __future__ import annotations

from flask import Blueprint, Response, request, send_from_directory

from kazdata.entities.pages import STATIC_DIR, template_environment
from kazdata.errors import BadRequest, NotFound
from kazdata.http_contract import CACHE_CONTROL, TEXT_PLAIN, robots_txt
from kazdata.release.search_index import MAX_QUERY
from kazdata.web.cors import add_cors
from kazdata.web.resources import public_url, served
from kazdata.web.routes import route

blueprint = Blueprint("site", __name__)


@route(blueprint, "favicon")
def favicon() -> Response:
    response = send_from_directory(STATIC_DIR, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=3600)
    return add_cors(response)


@route(blueprint, "robots")
def robots() -> Response:
    root = public_url(served().release).rstrip("/")
    response = Response(robots_txt(root), content_type=TEXT_PLAIN)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return add_cors(response)


@route(blueprint, "search")
def search() -> Response:
    """The entities whose names match ``q``, grouped by kind; without ``q``, the form alone.
    A query past ``MAX_QUERY`` characters is refused (400) before anything is searched."""
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY:
        raise BadRequest(f"the search query is {len(query)} characters long; at most {MAX_QUERY} are accepted")
    index = served().caches.search_index()
    if index is None:
        raise NotFound("this release was built without a search index (docs/search.jsonl): rebuild it")
    results, total = index.search(query) if query.strip() else ({}, 0)
    html = template_environment().get_template("search.html").render(
        language="en", title=f"Search: {query}" if query else "Search", query=query, results=results,
        total=total, shown=sum(map(len, results.values())), formats={})
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = CACHE_CONTROL
    return add_cors(response)
