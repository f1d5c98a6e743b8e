"""Logging in to Archibald as a person would (FACTS §1) and checking the session.

Login.aspx's editor ids change on every visit and its login action is a DevExpress menu item,
not a button: the inputs are found by id suffix, filled with the native value setter plus
input/change events (what DevExpress editors listen to), and the action is clicked with the
mouse. Success is judged on the URL's *pathname*: the ReturnUrl of Login.aspx itself contains
"Default.aspx", which once made a check on the whole URL report a failed login as a success.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from erp import selectors as sel
from erp import steps
from erp.errors import ErpUnavailable, LoginRejected, LoginThrottled, LoginUnreached, SessionExpired
from erp.waits import (
    DEFAULT_NAV_TIMEOUT_MS,
    SERVER_ERROR_STATUS,
    boundary,
    check_same_host,
    goto,
    is_login_url,
    leaving,
    staying_on,
)

__all__ = ["DEFAULT_NAV_TIMEOUT_MS", "is_logged_in", "is_login_page", "is_login_url", "login", "touch_session"]

#: What the ERP's operator answers a login post from an address it blocks (too many logins).
FORBIDDEN_STATUS = 403
#: How long the login inputs may take to appear once Login.aspx answered.
DEFAULT_INPUTS_TIMEOUT_MS = 10_000

_FILL_JS = """(userSel, pwSel, user, pw) => {
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  for (const [s, v] of [[userSel, user], [pwSel, pw]]) {
    const e = document.querySelector(s);
    e.focus();
    setter.call(e, v);
    e.dispatchEvent(new Event('input', {bubbles: true}));
    e.dispatchEvent(new Event('change', {bubbles: true}));
  }
}"""

#: The login action: the menu item by id, else the innermost element whose text contains
#: "accedi" or is "log in"/"login" (a later ERP build may renumber the menu).
_FIND_LOGIN_ACTION_JS = """(byId, contains, equals) => {
  const item = document.querySelector(byId);
  if (item) return item;
  const matches = (e) => {
    const t = (e.textContent || e.value || '').trim().toLowerCase();
    return t.length > 0 && t.length < 40 &&
        (contains.some(c => t.includes(c)) || equals.includes(t));
  };
  const all = [...document.querySelectorAll(
      'a, button, span, li, div, input[type=submit], input[type=button]')].filter(matches);
  return all.find(e => !all.some(o => o !== e && e.contains(o))) || null;
}"""


def _retry_after_s(headers: Any) -> float | None:
    """The seconds of a ``Retry-After`` header, if the server sent one."""
    raw = {str(k).lower(): v for k, v in dict(headers or {}).items()}.get("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def is_login_page(url: str) -> bool:
    """True when the URL's pathname is Login.aspx (its query may well mention Default.aspx)."""
    return urlsplit(url or "").path.lower().endswith("/login.aspx")


def _raise_if_throttled(response: Any, step: str, *, posted: bool) -> None:
    """LoginThrottled for the 403 with which the ERP's operator blocks a login flood."""
    if response is not None and response.status == FORBIDDEN_STATUS:
        raise LoginThrottled(
            f"{step}: the ERP answered HTTP 403 to the login — this address is blocked for "
            "logging in too often",
            _retry_after_s(response.headers),
            posted=posted,
        )


async def login(
    page: Any,
    erp_url: str,
    username: str,
    password: str,
    *,
    timeout_ms: int = DEFAULT_NAV_TIMEOUT_MS,
    inputs_timeout_ms: int = DEFAULT_INPUTS_TIMEOUT_MS,
) -> None:
    """Open Login.aspx, fill the credentials, click the login action, land inside the ERP.

    Raises LoginRejected when the ERP refuses the credentials (it stays on Login.aspx and
    shows an error); LoginUnreached when nothing was posted (Login.aspx answered 5xx, the
    connection was refused, a timeout, no login form): the ERP saw no login; ErpUnavailable
    when the post went out but its answer was not the ERP's (5xx, lost): the ERP may have
    seen it.
    """
    step = f"login of {username}"
    login_url = sel.login_url(erp_url)
    posted = False
    try:
        async with staying_on(page, login_url, step), boundary(page, step), leaving(page):
            response = await page.goto(
                login_url, {"waitUntil": "domcontentloaded", "timeout": timeout_ms}
            )
            # The credentials go only to the configured ERP, never to where it redirects.
            check_same_host(page, login_url, step)
            # A blocked address may be refused the page too.
            _raise_if_throttled(response, step, posted=False)
            if response is not None and response.status >= SERVER_ERROR_STATUS:
                raise ErpUnavailable(f"{step}: the ERP answered HTTP {response.status} for Login.aspx")
            await page.waitForSelector(sel.USER_INPUT, {"visible": True, "timeout": inputs_timeout_ms})
            await page.waitForSelector(sel.PASSWORD_INPUT, {"timeout": inputs_timeout_ms})
            await page.evaluate(_FILL_JS, sel.USER_INPUT, sel.PASSWORD_INPUT, username, password)
            action = await page.evaluateHandle(
                _FIND_LOGIN_ACTION_JS,
                sel.LOGIN_BUTTON,
                list(sel.LOGIN_BUTTON_CONTAINS),
                list(sel.LOGIN_BUTTON_EQUALS),
            )
            element = action.asElement()
            if element is None:
                raise ErpUnavailable(f"{step}: Login.aspx shows no login action ({sel.LOGIN_BUTTON})")
            navigation = asyncio.ensure_future(
                page.waitForNavigation({"waitUntil": "domcontentloaded", "timeout": timeout_ms})
            )
            # From the click on the ERP may see the post, whatever comes back.
            posted = True
            try:
                await element.click()
            except BaseException:
                navigation.cancel()
                raise
            with steps.step(steps.NAVIGATION):
                response = await navigation
    except ErpUnavailable as exc:
        if posted:
            raise
        raise LoginUnreached(str(exc)) from exc
    except SessionExpired as exc:
        if posted:
            raise
        # Still on Login.aspx before anything was posted: the page did not let us log in.
        raise LoginUnreached(f"{step}: the login form did not load ({exc})") from exc
    check_same_host(page, login_url, step)
    _raise_if_throttled(response, step, posted=True)
    if response is not None and response.status >= SERVER_ERROR_STATUS:
        if not is_login_page(page.url):
            # The post was accepted (it redirected into the application, cookies set): only
            # the landing page failed. The session is live — another login would waste one.
            return
        raise ErpUnavailable(
            f"{step}: the ERP answered HTTP {response.status} after posting the login"
        )
    if is_login_page(page.url):
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
    return not is_login_page(page.url)


#: How long a keep-alive request may take before it counts as unanswered.
DEFAULT_KEEPALIVE_TIMEOUT_S = 30.0


async def touch_session(
    erp_url: str,
    cookies: list[dict[str, Any]],
    *,
    user_agent: str | None = None,
    accept_language: str | None = None,
    timeout_s: float = DEFAULT_KEEPALIVE_TIMEOUT_S,
    ssl_context: ssl.SSLContext | None = None,
) -> bool:
    """One cheap request under the session's cookies, so its idle expiry starts over.

    GETs Default.aspx without following its redirect (no list page is rendered): a live
    session is sent on into the application, an expired one to Login.aspx. True if the
    session was live. Raises ErpUnavailable when the ERP does not answer usefully.
    ``ssl_context`` is what HTTPS trusts (the operator's CA file); None: the system's.
    """
    host = urlsplit(erp_url).hostname or ""
    jar = "; ".join(
        f"{c['name']}={c['value']}" for c in cookies
        if str(c.get("domain", host)).lstrip(".") in (host, "")
    )
    headers = {"Cookie": jar}
    if user_agent:
        headers["User-Agent"] = user_agent
    if accept_language:
        headers["Accept-Language"] = accept_language
    url = urljoin(erp_url, sel.DEFAULT_PAGE)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http,
            http.get(url, headers=headers, allow_redirects=False,
                     ssl=ssl_context if ssl_context is not None else True) as response,
        ):
            await response.read()
            status = response.status
            location = response.headers.get("Location", "")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ErpUnavailable(f"session keep-alive: {type(exc).__name__}: {exc}") from exc
    if status >= SERVER_ERROR_STATUS or status == FORBIDDEN_STATUS:
        # 403: a blocked address — says nothing of the session, which must not be dropped.
        raise ErpUnavailable(f"session keep-alive: the ERP answered HTTP {status}")
    return not is_login_page(urljoin(url, location)) if location else status < 400
