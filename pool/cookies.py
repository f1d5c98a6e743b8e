"""Moving an agent's ERP session between contexts (and processes) as its cookies.

The whole context's cookie jar is read and written (CDP ``Storage.*Cookies``
with the context's id), not only the cookies of the page's current URL as
``page.cookies()`` would, so an export taken from a page that sits on
``about:blank`` is still complete.
"""

from __future__ import annotations

from typing import Any

from pyppeteer.errors import PyppeteerError

from pool.errors import BrowserCrashed, PoolError
from pool.session import AgentSession

#: The fields CDP's CookieParam accepts back; the rest (size, session, priority...) is derived.
_COOKIE_PARAM_FIELDS = ("name", "value", "domain", "path", "secure", "httpOnly", "sameSite")


def _translate(session: AgentSession, action: str, exc: Exception) -> PoolError:
    message = f"could not {action} the cookies of agent {session.agent}: {exc}"
    if not session.context.browser._connection._connected:
        return BrowserCrashed(message)
    return PoolError(message)


def _as_cookie_param(cookie: dict[str, Any]) -> dict[str, Any]:
    param = {key: cookie[key] for key in _COOKIE_PARAM_FIELDS if key in cookie}
    expires = cookie.get("expires")
    # Session cookies come back with expires -1 (and session True): send none.
    if isinstance(expires, (int, float)) and expires > 0 and not cookie.get("session"):
        param["expires"] = expires
    return param


async def export_cookies(session: AgentSession) -> list[dict[str, Any]]:
    """All cookies of the agent's context, JSON-friendly, ready for :func:`import_cookies`."""
    context = session.context
    try:
        reply = await context.browser._connection.send(
            "Storage.getCookies", {"browserContextId": context._id}
        )
    except (PyppeteerError, ConnectionError) as exc:
        raise _translate(session, "read", exc) from exc
    return [_as_cookie_param(cookie) for cookie in (reply or {}).get("cookies", [])]


async def import_cookies(session: AgentSession, cookies: list[dict[str, Any]]) -> None:
    """Put ``cookies`` (from :func:`export_cookies`) into the agent's context."""
    if not cookies:
        return
    context = session.context
    try:
        await context.browser._connection.send(
            "Storage.setCookies",
            {"browserContextId": context._id, "cookies": [_as_cookie_param(c) for c in cookies]},
        )
    except (PyppeteerError, ConnectionError) as exc:
        raise _translate(session, "set", exc) from exc
