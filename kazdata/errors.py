"""Domain errors that carry their HTTP status.

Lookup and query code raises these; one handler in ``kazdata.web`` renders them in the format
the client asked for. Build-time errors (``SourceError``, ``ValidationFailed``) carry the file,
line or node a curator has to fix.
"""

from __future__ import annotations

from typing import Any


class KazdataError(Exception):
    """Base of every error kazdata reports to a user; ``status`` is the HTTP status it maps to."""

    status = 500
    title = "Internal error"

    def __init__(self, message: str, **details: Any) -> None:
        # a message may quote the client's input, which can hold lone surrogates (a query's
        # "\\uD800" once resolved): written out as escapes, every error body can be encoded
        message = message.encode("utf-8", "backslashreplace").decode("utf-8")
        super().__init__(message)
        self.message = message
        self.details = details

    def __reduce__(self):
        """Keep ``details`` across processes (the build validates in one of its own)."""
        return _restore, (type(self), self.message, self.details)


def _restore(cls: type, message: str, details: dict) -> KazdataError:
    return cls(message, **details)


class BadRequest(KazdataError):
    status = 400
    title = "Bad request"


class NotFound(KazdataError):
    status = 404
    title = "Not found"



class NotAcceptable(KazdataError):
    status = 406
    title = "Not acceptable"


class PayloadTooLarge(KazdataError):
    status = 413
    title = "Payload too large"


class RequestTimeout(KazdataError):
    """The request's body did not arrive in time; the connection is closed after the answer."""

    status = 408
    title = "Request timeout"


class UriTooLong(KazdataError):
    status = 414
    title = "URI too long"


class TooManyRequests(KazdataError):
    """One client already holds as much of the server as it may; ``details['headers']``
    carries ``Retry-After``."""

    status = 429
    title = "Too many requests"


class QueryTimeout(KazdataError):
    status = 503
    title = "Query time limit exceeded"


class BackendUnavailable(KazdataError):
    """The store that answers SPARQL (query processes, a remote endpoint) cannot be reached."""

    status = 503
    title = "Query service unavailable"


class Forbidden(KazdataError):
    status = 403
    title = "Forbidden"


class SourceError(KazdataError):
    """A source file that cannot be read or parsed; says which file and line."""

    status = 422
    title = "Broken source"


class ValidationFailed(KazdataError):
    """The sources violate the shapes; ``details['violations']`` lists each one."""

    status = 422
    title = "Shape violations"


class ValidationLost(KazdataError):
    """The validation process ended without a verdict: whether the sources conform is unknown,
    so nothing is published."""

    status = 500
    title = "Validation lost"


class ReleaseError(KazdataError):
    """A release directory that is incomplete or whose files do not match SHA256SUMS."""

    status = 500
    title = "Broken release"


class ExportError(KazdataError):
    """A static export that cannot be written where it was asked to (``kazdata export-static``)."""

    status = 500
    title = "Export failed"
