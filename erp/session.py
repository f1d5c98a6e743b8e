"""Logging in to Archibald (Login.aspx WebForms post) and checking the session."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urljoin

from erp import selectors as sel
from erp.errors import ErpUnavailable, LoginRejected, SessionExpired
from erp.waits import (
    DEFAULT_NAV_TIMEOUT_MS,
    SERVER_ERROR_STATUS,
    boundary,
    goto,
    is_login_url,
)

__all__ = ["DEFAULT_NAV_TIMEOUT_MS", "is_logged_in", "is_login_url", "login"]


async def login(
    page: Any,
    erp_url: str,
    username: str,
    password: str,
    *,
    timeout_ms: int = DEFAULT_NAV_TIMEOUT_MS,
) -> None:
    """Open Login.aspx, post the credentials and wait to land inside the application.

    Raises LoginRejected when the ERP refuses the credentials, ErpUnavailable otherwise.
    """
    step = f"login of {username}"
    login_url = urljoin(erp_url, sel.LOGIN_PAGE)
    async with boundary(page, step):
        response = await page.goto(
            login_url, {"waitUntil": "domcontentloaded", "timeout": timeout_ms}
        )
        if response is not None and response.status >= SERVER_ERROR_STATUS:
            raise ErpUnavailable(f"{step}: the ERP answered HTTP {response.status} for Login.aspx")
        await page.waitForSelector(sel.USER_INPUT, {"timeout": timeout_ms})
        await page.evaluate(
            """(userSel, pwSel, user, pw) => {
                document.querySelector(userSel).value = user;
                document.querySelector(pwSel).value = pw;
            }""",
            sel.USER_INPUT,
            sel.PASSWORD_INPUT,
            username,
            password,
        )
        navigation = asyncio.ensure_future(
            page.waitForNavigation({"waitUntil": "domcontentloaded", "timeout": timeout_ms})
        )
        await page.click(sel.LOGIN_BUTTON)
        response = await navigation
    if response is not None and response.status >= SERVER_ERROR_STATUS:
        raise ErpUnavailable(
            f"{step}: the ERP answered HTTP {response.status} after posting the login"
        )
    if is_login_url(page.url):
        async with boundary(page, step):
            message = await page.evaluate(
                "(s) => { const e = document.querySelector(s); return e ? e.textContent.trim() : ''; }",
                sel.LOGIN_ERROR,
            )
        if message:
            raise LoginRejected(f"the ERP refused the credentials of {username}: {message}")
        raise ErpUnavailable(f"{step}: still on Login.aspx with no error message")


async def is_logged_in(page: Any, erp_url: str) -> bool:
    """Open Default.aspx: True if the session is live, False if the ERP asks to log in."""
    try:
        await goto(page, urljoin(erp_url, sel.DEFAULT_PAGE), "session check")
    except SessionExpired:
        return False
    return not is_login_url(page.url)
