"""What a browser or a crawler asks of any site: ``/favicon.ico`` and ``/robots.txt``.

Browsers ask for ``/favicon.ico`` whether or not a page names an icon, so it is served from the
static folder rather than left to fill the error log with 404s; ``/robots.txt`` names the
sitemap under the public URL (never the Host header, as for the sitemap itself).
"""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory

from kazdata.entities.pages import STATIC_DIR
from kazdata.http_contract import CACHE_CONTROL, TEXT_PLAIN, robots_txt
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
