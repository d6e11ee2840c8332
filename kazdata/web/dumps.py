"""Downloads: the dumps with their checksums, and the checksums of every file sent as it is."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from flask import Blueprint, Response, request

from kazdata.formats import file_content_type
from kazdata.http_contract import CACHE_CONTROL, TEXT_PLAIN, file_vary
from kazdata.web.cors import add_cors
from kazdata.web.resources import served
from kazdata.web.routes import route
from kazdata.web.sending import send_release_file

blueprint = Blueprint("dumps", __name__)


@route(blueprint, "dumps")
def listing() -> Response:
    """Rendered once per release (``ReleaseCaches.dumps_page``): the files never change."""
    response = Response(served().caches.dumps_page, content_type="text/html; charset=utf-8")
    return add_cors(response)


@route(blueprint, "dump-checksums")
def dump_checksums() -> Response:
    response = Response(served().release.dump_checksums, content_type=TEXT_PLAIN)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return add_cors(response)


@route(blueprint, "release-checksums")
def release_checksums() -> Response:
    """What this server sends at fixed URLs, not the release's own SHA256SUMS: most files of a
    release (pages, entity packs, the entity table) are not sent at the path it names them by."""
    snapshot = served()
    body = snapshot.caches.published_checksums
    response = Response(body, content_type=TEXT_PLAIN)
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])  # as a release file's ETag
    response.last_modified = datetime.fromtimestamp(snapshot.release.modified, UTC)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = file_vary("")  # as every release file, which it was until it listed URLs
    response.make_conditional(request, accept_ranges=True, complete_length=len(body))
    return add_cors(response)


@route(blueprint, "dump")
def dump(name: str) -> Response:
    """A dump file; a ``.gz`` one is sent as application/gzip, byte ranges supported."""
    release = served().release
    response = send_release_file(release, release.file(f"dumps/{name}"), content_type=file_content_type(name),
                                 vary="")
    if name.endswith(".gz"):
        response.headers.pop("Vary", None)
    return response
