"""CORS for a public, read-only, credential-free dataset: any origin may read (values in
``kazdata.http_contract``).

Every route answers a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``) the same
way ``/sparql`` always has: its methods, the headers the browser asks to send (no credentials are
ever accepted, so no header can carry one that matters) or, when it names none, the negotiation,
conditional and Range headers. Without this a page on another origin could not send
``If-None-Match`` or ``Accept-Language`` to ``/doc/`` at all.
"""

from __future__ import annotations

from typing import TypeVar

from flask import Flask, Response, request
from werkzeug.wrappers import Response as BaseResponse

from kazdata.http_contract import CORS_HEADERS, PREFLIGHT_ALLOW_HEADERS, PREFLIGHT_MAX_AGE

AnyResponse = TypeVar("AnyResponse", bound=BaseResponse)  # Flask's or werkzeug's (``redirect`` is typed as werkzeug's)


def add_cors(response: AnyResponse) -> AnyResponse:
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    return response


def preflight(methods: list[str]) -> Response:
    """204 answering a CORS preflight for a route that answers ``methods``."""
    allowed = ", ".join(methods)
    response = Response(status=204)
    response.headers["Allow"] = allowed
    response.headers["Access-Control-Allow-Methods"] = allowed
    response.headers["Access-Control-Allow-Headers"] = request.headers.get(
        "Access-Control-Request-Headers", PREFLIGHT_ALLOW_HEADERS)
    response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return add_cors(response)


def register_preflights(app: Flask) -> None:
    """Answer the preflight of every route before its view runs (views never see ``OPTIONS``)."""
    @app.before_request
    def answer_preflight() -> Response | None:
        rule = request.url_rule
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers or rule is None:
            return None
        return preflight(sorted(rule.methods or ()))
