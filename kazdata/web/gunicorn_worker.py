"""gunicorn's threaded worker, with a 414 that tells the client what to do.

gunicorn reads at most ``limit_request_line`` bytes of a request line (8190 at most, kazdata
sets that) and answers a longer one itself, before the app sees it, with an HTML page that says
only "Request Line is too large". kazdata's own limit (``MAX_URL_LENGTH``, 8000) is just under
it, so a URL between the two gets the app's 414 and a longer one would get gunicorn's; this
worker writes the app's text instead: the same status, the same plain-text body saying to send
the query by POST, the same error headers. Every other error is gunicorn's as before.
"""

from __future__ import annotations

from gunicorn.http.errors import LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

from kazdata.http_contract import CORS_HEADERS, NO_STORE, SECURITY_HEADERS, TEXT_PLAIN, VARY_ACCEPT, url_too_long


def too_long_response() -> bytes:
    """The whole 414 response, as the app writes its own (``kazdata.web.long_urls``)."""
    body = f"414 URI Too Long: {url_too_long(None)}\n".encode()
    headers = [("Content-Type", TEXT_PLAIN), ("Content-Length", str(len(body))), ("Connection", "close"),
               ("Vary", VARY_ACCEPT), ("Cache-Control", NO_STORE), *CORS_HEADERS, *SECURITY_HEADERS]
    head = "HTTP/1.1 414 URI Too Long\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("latin-1") + b"\r\n" + body


class KazdataThreadWorker(ThreadWorker):
    """``gthread`` with kazdata's 414 for a request line past gunicorn's limit."""

    def handle_error(self, req, client, addr, exc):  # gunicorn's signature
        if not isinstance(exc, LimitRequestLine):
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            client.sendall(too_long_response())
        except OSError:
            pass  # the client has gone: nothing to tell it
        return None
