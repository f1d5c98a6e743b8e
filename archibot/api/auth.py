"""Bearer tokens: ``Authorization: Bearer T``, or the dashboard's cookie holding one.

A token is good if it is one of ``ARCHIBOT_API_TOKENS`` (development) or its SHA-256 is
in ``api_tokens`` (``archibot tokens add NAME``). Stored tokens found good are
remembered for a short while, so a busy client does not cost a query per request.
Open without a token: ``/healthz``, ``/readyz`` (load balancers), ``/openapi.json`` and
``/docs`` (the schema is no secret), and the dashboard's login form.
"""

from __future__ import annotations

import hmac
import threading
import time

from fastapi import Request

from archibot.api.errors import Unauthorized
from store.tokens import TokenStore, token_hash

#: The dashboard keeps its token in this cookie (HttpOnly, SameSite=Strict).
COOKIE_NAME = "archibot_token"
#: How long a stored token found good is trusted without asking PostgreSQL again.
DEFAULT_TOKEN_CACHE_S = 30.0


class TokenChecker:
    """Checks a presented token against the development list and the stored hashes."""

    def __init__(self, dev_tokens: list[str], store: TokenStore) -> None:
        self._dev = [t.encode() for t in dev_tokens]
        self._store = store
        self._good_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def is_valid(self, token: str) -> bool:
        """Whether ``token`` may use the API."""
        if not token:
            return False
        presented = token.encode()
        if any(hmac.compare_digest(presented, dev) for dev in self._dev):
            return True
        digest = token_hash(token)
        now = time.monotonic()
        with self._lock:
            if self._good_until.get(digest, 0.0) > now:
                return True
        if self._store.verify(token) is None:
            return False
        with self._lock:
            self._good_until[digest] = now + DEFAULT_TOKEN_CACHE_S
        return True


def presented_token(request: Request) -> str:
    """The bearer token of the request (header first, then the dashboard's cookie), or ''."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE_NAME, "")


def require_token(request: Request) -> None:
    """FastAPI dependency: 401 unless the request carries a good token."""
    checker: TokenChecker = request.app.state.services.tokens
    if not checker.is_valid(presented_token(request)):
        raise Unauthorized(
            "a bearer token is required: send 'Authorization: Bearer TOKEN' "
            "(make one with: archibot tokens add NAME)"
        )
