"""Headers every response carries: no sniffing, no referrer leaks, a strict CSP for pages
(values in ``kazdata.http_contract``), and redirects that never name the Host header's host."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response

from kazdata.http_contract import CONTENT_SECURITY_POLICY, SECURITY_HEADERS


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name, value)
        if response.status_code in REDIRECTS and "Location" in response.headers:
            response.headers["Location"] = host_relative(response.headers["Location"])
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


REDIRECTS = (301, 302, 303, 307, 308)


def host_relative(location: str) -> str:
    """``location`` without scheme and host: Werkzeug writes its own redirects (``//`` merged
    into ``/``, a missing trailing slash) as absolute URLs on the request's host, which a client
    sets as it likes (and in any case, which Werkzeug lowercases); a path-absolute Location means
    the same to HTTP (RFC 9110 10.2.2). This server never redirects to another site, so every
    Location is made host-relative, whatever host it names."""
    parts = urlsplit(location)
    return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
