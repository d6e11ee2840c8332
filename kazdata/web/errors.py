"""One place that turns an error into a response, in the format the client asked for.

Domain code raises ``kazdata.errors`` exceptions; Werkzeug's HTTP exceptions (404 for unknown
routes, 405, 413) are mapped to the same renderers. No stack trace or internal path ever reaches
a client: unexpected exceptions are logged and answered with a plain 500.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from kazdata.entities.pages import template_environment
from kazdata.errors import KazdataError
from kazdata.formats import ERROR_FORMATS, HTML, JSON, PLAIN_TEXT
from kazdata.http_contract import NO_STORE, TEXT_PLAIN, VARY_ACCEPT, nothing_published
from kazdata.web.cors import add_cors
from kazdata.web.negotiation import understood
from kazdata.web.query_errors import explain
from kazdata.web.resources import served

log = logging.getLogger("kazdata.web")


def _close_matches(limit: int = 5) -> list[dict]:
    """Entities whose label or slug resembles the last segment of the requested path."""
    wanted = request.path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("-", " ").lower()
    return [{"path": path, "label": label}
            for path, label in served().caches.close_matches(wanted, limit)]


def _render_html(status: int, title: str, message: str, extra: dict) -> Response:
    matches = _close_matches() if status == 404 else []
    html = template_environment().get_template("error.html").render(
        language="en", status=status, title=title, message=message, matches=matches,
        formats={})
    return Response(html, status, content_type=HTML.content_type)


def _render_json(status: int, title: str, message: str, extra: dict) -> Response:
    body = {"status": status, "error": title, "message": message}
    if "offered" in extra:
        body["offered"] = extra["offered"]
    body.update(extra.get("position", {}))  # a syntax error's line and column, for the query page
    return Response(json.dumps(body, ensure_ascii=False) + "\n", status,
                    content_type=JSON.content_type)


def _render_text(status: int, title: str, message: str, extra: dict) -> Response:
    text = f"{status} {title}: {message}\n"  # a 406's message lists what is offered: once
    return Response(text, status, content_type=TEXT_PLAIN)


#: error format -> renderer; the client's Accept picks one, plain text when nothing matches.
ERROR_RENDERERS = {PLAIN_TEXT: _render_text, HTML: _render_html, JSON: _render_json}
_ERROR_TYPES = {media_type: fmt for fmt in ERROR_FORMATS for media_type in fmt.media_types}


def error_response(status: int, title: str, message: str, **extra) -> Response:
    accept = understood(request.accept_mimetypes)
    chosen = _ERROR_TYPES[accept.best_match(list(_ERROR_TYPES), default=PLAIN_TEXT.media_type)]
    if accept and accept.best == "*/*":
        chosen = PLAIN_TEXT
    response = ERROR_RENDERERS[chosen](status, title, message, extra)
    response.headers["Vary"] = VARY_ACCEPT
    response.headers["Cache-Control"] = NO_STORE
    for name, value in extra.get("headers", {}).items():
        response.headers[name] = value
    return add_cors(response)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(KazdataError)
    def handle_domain_error(error: KazdataError) -> Response:
        if error.status >= 500:  # the operator must hear of every 5xx, access log or not
            log.error("%s %s answered %d: %s", request.method, request.path, error.status, error.message)
        headers = error.details.get("headers", {}) if isinstance(error.details.get("headers"), dict) else {}
        explained = explain(error.message) if error.status == 400 else None
        return error_response(error.status, error.title, explained.message if explained else error.message,
                              offered=error.details.get("offered", []), headers=headers,
                              position=explained.position() if explained else {})

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Response:
        headers = {}
        if error.code == 405 and error.response is None:
            allowed = getattr(error, "valid_methods", None)
            if allowed:
                headers["Allow"] = ", ".join(sorted(allowed))
        message = nothing_published(request.path) if error.code == 404 else error.description or ""
        return error_response(error.code or 500, error.name, message, headers=headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "Internal Server Error",
                              "the server failed to answer this request; the error was logged")
