"""414 for a URL longer than ``MAX_URL_LENGTH``, with a body that says what to do instead.

A GET query is the usual way to get there, so the message points to POST. The limit is kazdata's
own, checked before any view, under the HTTP servers' own limits: past those gunicorn answers
with this text too (``kazdata.web.gunicorn_worker``), granian with an empty 414 that no Python
code can change (``kazdata.http_contract.MAX_URL_LENGTH`` and docs/decisions/011 say why).
"""

from __future__ import annotations

from flask import Flask, request

from kazdata.errors import UriTooLong
from kazdata.http_contract import MAX_URL_LENGTH, url_too_long


def register_url_limit(app: Flask) -> None:
    @app.before_request
    def refuse_long_urls() -> None:
        length = len(request.environ.get("RAW_URI") or request.full_path)
        if length > MAX_URL_LENGTH:
            raise UriTooLong(url_too_long(length))
