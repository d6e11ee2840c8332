"""CORS for a public, read-only, credential-free dataset: any origin may read (values in
``kazdata.http_contract``)."""

from __future__ import annotations

from typing import TypeVar

from werkzeug.wrappers import Response

from kazdata.http_contract import CORS_HEADERS

AnyResponse = TypeVar("AnyResponse", bound=Response)  # Flask's or werkzeug's (``redirect`` is typed as werkzeug's)


def add_cors(response: AnyResponse) -> AnyResponse:
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    return response
