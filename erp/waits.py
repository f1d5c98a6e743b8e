"""Waiting for DevExpress callbacks and translating pyppeteer errors at the boundary."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urljoin, urlsplit

from pyppeteer.errors import ElementHandleError, NetworkError, PageError
from pyppeteer.errors import TimeoutError as PyppeteerTimeout

from erp import selectors as sel
from erp import steps
from erp.errors import ErpCertificateRejected, ErpError, ErpLeftHost, ErpUnavailable, SessionExpired

DEFAULT_NAV_TIMEOUT_MS = 30_000
DEFAULT_CALLBACK_TIMEOUT_MS = 30_000
DEFAULT_UPDATE_EDIT_TIMEOUT_MS = 90_000
DEFAULT_POLL_MS = 25
#: Idle polls: this often, and this many in a row (a callback may start right after one).
DEFAULT_IDLE_POLL_MS = 40
DEFAULT_IDLE_POLLS = 2
DEFAULT_SETTLE_TIMEOUT_MS = 5_000
SERVER_ERROR_STATUS = 500

_LOGIN_RE = re.compile(r"/Login\.aspx", re.IGNORECASE)
#: Chromium's answer to a certificate it does not trust: "net::ERR_CERT_AUTHORITY_INVALID at URL".
_CERT_ERROR_RE = re.compile(r"net::(ERR_CERT_[A-Z_]+)(?: at (\S+))?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, the port spelled out: where a page is, to compare."""
    parts = urlsplit(url or "")
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
    return f"{parts.scheme}://{parts.hostname or ''}:{port}"


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs are on the same scheme, host and port."""
    return origin(url) == origin(other)


def where(url: str) -> str:
    """``scheme://host[:port]`` as the URL spells it, for messages."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}"


def check_same_host(page: Any, expected_url: str, step: str) -> None:
    """ErpLeftHost when the page is no longer on ``expected_url``'s scheme, host and port.

    Every navigation is built from ARCHIBOT_ERP_URL; one that ends elsewhere was redirected
    there (an ERP that moved, a proxy), and the bot never follows it.
    """
    if not same_origin(page.url, expected_url):
        raise ErpLeftHost(step, where(expected_url), where(page.url))


@asynccontextmanager
async def staying_on(page: Any, url: str, step: str) -> AsyncIterator[None]:
    """Inside, a navigation that breaks after the ERP redirected it to another host than
    ``url``'s (one the worker cannot reach) is ErpLeftHost naming both, not an ERP that is
    down: the redirect is seen as it passes. One that arrives is for check_same_host."""
    elsewhere: list[str] = []

    def on_response(response: Any) -> None:
        location = response.headers.get("location", "")
        if location and 300 <= response.status < 400 and response.request.isNavigationRequest():
            target = urljoin(response.url, location)
            if not same_origin(target, url):
                elsewhere.append(target)

    page.on("response", on_response)
    try:
        yield
    except ErpUnavailable as exc:
        if elsewhere:
            raise ErpLeftHost(step, where(url), where(elsewhere[0])) from exc
        raise
    finally:
        page.remove_listener("response", on_response)


def check_certificate(exc: Exception, step: str, url: str) -> None:
    """ErpCertificateRejected when a browser error is Chromium refusing the certificate."""
    found = _CERT_ERROR_RE.search(str(exc))
    if found is not None:
        raise ErpCertificateRejected(step, found.group(2) or url, found.group(1)) from exc


def is_login_url(url: str) -> bool:
    """True when the ERP sent the browser to its login page."""
    return bool(_LOGIN_RE.search(url or ""))


def check_not_login(page: Any, step: str) -> None:
    if is_login_url(page.url):
        raise SessionExpired(f"{step}: the ERP session expired (redirected to Login.aspx)")


@asynccontextmanager
async def boundary(page: Any, step: str) -> AsyncIterator[None]:
    """Run a step; pyppeteer errors become ErpUnavailable, or SessionExpired on Login.aspx."""
    try:
        yield
    except ErpError:
        raise
    except PyppeteerTimeout as exc:
        await _settle(page)
        check_not_login(page, step)
        raise ErpUnavailable(f"{step}: timed out ({exc})") from exc
    except (NetworkError, PageError, ElementHandleError) as exc:
        check_certificate(exc, step, page.url)
        await _settle(page)
        check_not_login(page, step)
        raise ErpUnavailable(f"{step}: browser error ({exc})") from exc


async def _settle(page: Any) -> None:
    """After a step broke (often a navigation under our feet), let the new document load."""
    try:
        await page.waitForFunction(
            "document.readyState !== 'loading'",
            {"polling": DEFAULT_POLL_MS, "timeout": DEFAULT_SETTLE_TIMEOUT_MS},
        )
    except (PyppeteerTimeout, NetworkError, PageError):
        pass


async def wait_idle(page: Any, step: str, timeout_ms: int = DEFAULT_CALLBACK_TIMEOUT_MS) -> None:
    """Wait until no loading panel shows and no control is InCallback() over two polls.

    SessionExpired on Login.aspx; a JavaScript error inside the check fails at once with its
    message (pyppeteer rejects the wait), not after the timeout.
    """
    token = secrets.token_hex(4)
    with steps.step(steps.IDLE):
        async with boundary(page, step):
            await page.waitForFunction(
                sel.IDLE_JS,
                {"polling": DEFAULT_IDLE_POLL_MS, "timeout": timeout_ms},
                DEFAULT_IDLE_POLLS,
                token,
            )
    check_not_login(page, step)


@asynccontextmanager
async def accepting_dialogs(
    page: Any, types: tuple[str, ...] | None = None
) -> AsyncIterator[list[str]]:
    """Accept the page's dialogs of `types` (every dialog when None: the confirm() of a list
    delete) while inside; yields the texts of those seen."""
    seen: list[str] = []

    def on_dialog(dialog: Any) -> None:
        if types is not None and dialog.type not in types:
            return
        seen.append(dialog.message)
        # Two handlers may answer one dialog; the second's "already handled" is no news.
        asyncio.ensure_future(dialog.accept()).add_done_callback(
            lambda done: done.cancelled() or done.exception()
        )

    page.on("dialog", on_dialog)
    try:
        yield seen
    finally:
        page.remove_listener("dialog", on_dialog)


def leaving(page: Any) -> AbstractAsyncContextManager[list[str]]:
    """Inside, the bot means to leave the page: a form with unsaved changes asks
    (beforeunload, FACTS §11) and the leave is confirmed. Unanswered, that dialog blocks the
    navigation for ever; other dialogs are left to whoever expects them."""
    return accepting_dialogs(page, ("beforeunload",))


async def goto(page: Any, url: str, step: str, timeout_ms: int = DEFAULT_NAV_TIMEOUT_MS) -> None:
    """Navigate (leaving an unsaved form on purpose); a 5xx answer is ErpUnavailable, a
    redirect to Login.aspx is SessionExpired, one to another host ErpLeftHost, an untrusted
    certificate ErpCertificateRejected."""
    with steps.step(steps.NAVIGATION):
        async with staying_on(page, url, step), boundary(page, step), leaving(page):
            response = await page.goto(url, {"waitUntil": "domcontentloaded", "timeout": timeout_ms})
    check_same_host(page, url, step)
    check_not_login(page, step)
    if response is not None and response.status >= SERVER_ERROR_STATUS:
        raise ErpUnavailable(f"{step}: the ERP answered HTTP {response.status} for {url}")


async def set_value(page: Any, selector: str, text: str, step: str) -> None:
    """Put `text` into an input and type its last character for real, so the ERP's key handlers run."""
    async with boundary(page, step):
        await page.waitForSelector(
            selector, {"visible": True, "timeout": DEFAULT_CALLBACK_TIMEOUT_MS}
        )
        await page.evaluate(
            """(s, v) => { const e = document.querySelector(s); e.focus(); e.value = v;
                if (e.setSelectionRange) e.setSelectionRange(v.length, v.length); }""",
            selector,
            text[:-1],
        )
        if text:
            with steps.step(steps.TYPING):
                await page.type(selector, text[-1])
