"""Errors of the HTTP API, each with its HTTP status.

ApiError
 ├── Unauthorized      no bearer token, or one that no stored token matches (401)
 ├── NotFound          no such operation (404)
 ├── Conflict          the request cannot be applied in the operation's state (409)
 ├── Unprocessable     the request is malformed; names the field (422)
 └── Unavailable       PostgreSQL or Redis did not answer (503)
"""

from __future__ import annotations


class ApiError(Exception):
    """Base class of the API's errors; ``status`` is the HTTP status it answers with."""

    status = 500
    code = "error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class Unauthorized(ApiError):
    """No bearer token, or a token that matches none."""

    status = 401
    code = "unauthorized"


class NotFound(ApiError):
    """No such operation."""

    status = 404
    code = "not_found"


class Conflict(ApiError):
    """The request cannot be applied in the operation's state (or reuses a key)."""

    status = 409
    code = "conflict"


class Unprocessable(ApiError):
    """The request is malformed; ``field`` names what."""

    status = 422
    code = "invalid"


class Unavailable(ApiError):
    """PostgreSQL or Redis did not answer."""

    status = 503
    code = "unavailable"
