"""Headers every response carries: no sniffing, no referrer leaks, a strict CSP for pages
(values in ``kazdata.http_contract``)."""

from __future__ import annotations

from flask import Flask, Response

from kazdata.http_contract import CONTENT_SECURITY_POLICY, SECURITY_HEADERS


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
