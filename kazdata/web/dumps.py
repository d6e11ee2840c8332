"""Downloads: the dumps with their checksums, and the release's own SHA256SUMS."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from kazdata.entities.pages import template_environment
from kazdata.formats import file_content_type
from kazdata.release.checksums import CHECKSUMS
from kazdata.web.cors import add_cors
from kazdata.web.sending import send_release_file

blueprint = Blueprint("dumps", __name__)


def _release():
    return current_app.extensions["kazdata"].release


def _text(body: str) -> Response:
    response = Response(body, content_type="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return add_cors(response)


@blueprint.route("/dumps/", methods=["GET", "HEAD"])
def listing() -> Response:
    release = _release()
    if "dumps-page" not in release.memo:  # rendered once per release: the files never change
        files = [{"name": name[len("dumps/"):], "size": (release.directory / name).stat().st_size,
                  "sha256": digest} for name, digest in sorted(release.digests.items()) if name.startswith("dumps/")]
        release.memo["dumps-page"] = template_environment().get_template("dumps.html").render(
            language="en", title="Downloads", files=files, version=release.version, formats={})
    response = Response(release.memo["dumps-page"], content_type="text/html; charset=utf-8")
    return add_cors(response)


@blueprint.route("/dumps/SHA256SUMS", methods=["GET", "HEAD"])
def dump_checksums() -> Response:
    return _text(_release().dump_checksums)


@blueprint.route(f"/{CHECKSUMS}", methods=["GET", "HEAD"])
def release_checksums() -> Response:
    release = _release()
    return send_release_file(release, release.checksums_file, content_type="text/plain; charset=utf-8", vary="")


@blueprint.route("/dumps/<name>", methods=["GET", "HEAD"])
def dump(name: str) -> Response:
    """A dump file; a ``.gz`` one is sent as application/gzip, byte ranges supported."""
    release = _release()
    file = release.file(f"dumps/{name}")
    if name.endswith(".gz"):
        content_type = "application/gzip"
    else:
        content_type = file_content_type(name)
    response = send_release_file(release, file, content_type=content_type, vary="")
    if name.endswith(".gz"):
        response.headers.pop("Vary", None)
    return response
