"""Send a release file or entity document with the headers every document carries.

Werkzeug's ``send_file`` does the HTTP work (ETag and Last-Modified checks, 304, Range, HEAD),
from the file or, for a rendered entity document, from its bytes; this adds the gzip variant,
Vary, CORS and caching headers.
"""

from __future__ import annotations

import io

from flask import Response, request, send_file
from werkzeug.http import parse_range_header

from kazdata.formats import Format
from kazdata.http_contract import CACHE_CONTROL, NOSNIFF, file_vary
from kazdata.release.opened import Release, ReleaseFile
from kazdata.web.cors import add_cors


def send_release_file(release: Release, file: ReleaseFile, fmt: Format | None = None, *,
                      content_type: str | None = None, vary: str = "Accept",
                      attachment: bool = False) -> Response:
    """Respond with ``file`` (or its precomputed ``.gz`` when the client accepts gzip)."""
    content_type = content_type or (fmt.content_type if fmt else "application/octet-stream")
    _ignore_unusable_range(request.environ)
    chosen, encoding = release.variant(file, bool(request.accept_encodings["gzip"]) and not request.headers.get("Range"))
    body = chosen.path if chosen.path is not None else io.BytesIO(release.read(chosen.relative))
    response = send_file(body, mimetype=content_type, etag=chosen.etag, conditional=True,
                         last_modified=release.modified, max_age=None,
                         as_attachment=attachment, download_name=file.relative.rsplit("/", 1)[-1])
    if response.status_code == 412:  # Werkzeug keeps the body of a failed If-Match: send none
        response.close()
        response = Response(status=412, headers={"ETag": response.headers["ETag"]})
        del response.headers["Content-Type"]
        return add_cors(response)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Content-Type"] = content_type
    response.headers["Vary"] = file_vary(vary)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = NOSNIFF
    return add_cors(response)


def _ignore_unusable_range(environ: dict) -> None:
    """Drop a Range header that is not one range of bytes: RFC 9110 (14.2) has a server ignore
    a Range it cannot parse or does not support and send the whole representation with 200,
    where Werkzeug would answer 416. Several ranges are not supported, so those are ignored
    too. A single range past the end stays, and gets its 416."""
    header = environ.get("HTTP_RANGE")
    if header is None:
        return
    parsed = parse_range_header(header)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        del environ["HTTP_RANGE"]
