"""CORS for a public, read-only, credential-free dataset: any origin may read."""

from __future__ import annotations

from flask import Response

EXPOSED = "ETag, Link, Content-Location, Content-Length, Vary, X-Kazdata-Truncated, Last-Modified"


def add_cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED
    return response
