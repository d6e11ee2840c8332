"""CORS for a public, read-only, credential-free dataset: any origin may read (values in
``kazdata.http_contract``)."""

from __future__ import annotations

from flask import Response

from kazdata.http_contract import CORS_HEADERS


def add_cors(response: Response) -> Response:
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    return response
