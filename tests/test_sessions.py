"""ERP sessions as the real server keeps them: one request of a session at a time, idle
expiry, and the operator's block of an address that logs in too often (FACTS §1)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from erp.errors import LoginThrottled
from erp.session import is_logged_in, login
from tests.fix_erpsim import SimProcess

AGENT, PASSWORD = "agent01", "pw-agent01"
OTHER, OTHER_PASSWORD = "agent02", "pw-agent02"
#: Latency per request: long enough that a second request sent at once arrives while the
#: first is still being served (no assertion is made on time).
SLOW_REQUEST_MS = 400


def _cookie_header(cookies: list[dict[str, Any]]) -> str:
    return "; ".join(f"{c['name']}={c['value']}" for c in cookies)


async def _get_at_once(url: str, cookie: str, count: int) -> list[int]:
    headers = {"Cookie": cookie}
    async with aiohttp.ClientSession() as http:
        async def one() -> int:
            async with http.get(url, headers=headers, allow_redirects=False) as response:
                await response.read()
                return response.status

        return list(await asyncio.gather(*(one() for _ in range(count))))


def test_one_sessions_concurrent_requests_are_served_one_after_the_other(
    aio: Any, page: Any, erp: SimProcess
) -> None:
    # Given a logged-in session and a server that takes a while per request
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    cookie = _cookie_header(aio.run(page.cookies()))
    erp.set_faults(latency_ms=SLOW_REQUEST_MS)
    # When three requests of that session are sent at once
    statuses = aio.run(_get_at_once(erp.url + "Default.aspx", cookie, 3))
    # Then all are answered (still logged in), but never two at once: two waited their turn
    assert statuses == [302, 302, 302]
    counters = erp.counters()
    assert counters["session_max_active"] == 1
    assert counters["session_waits"] == 2
    # (the sim still counts them as an overlap: a bot must not send them at once)
    assert counters["overlaps_by_agent"] == {AGENT: 2}


def test_two_sessions_are_not_serialized_with_each_other(
    aio: Any, browser: Any, page: Any, erp: SimProcess
) -> None:
    async def second_session_cookie() -> str:
        context = await browser.createIncognitoBrowserContext()
        try:
            other = await context.newPage()
            await login(other, erp.url, OTHER, OTHER_PASSWORD)
            return _cookie_header(await other.cookies())
        finally:
            await context.close()

    aio.run(login(page, erp.url, AGENT, PASSWORD))
    first = _cookie_header(aio.run(page.cookies()))
    second = aio.run(second_session_cookie())
    erp.set_faults(latency_ms=SLOW_REQUEST_MS)

    async def both() -> None:
        await asyncio.gather(
            _get_at_once(erp.url + "Default.aspx", first, 1),
            _get_at_once(erp.url + "Default.aspx", second, 1),
        )

    aio.run(both())
    assert erp.counters()["session_waits"] == 0


def test_an_idle_session_expires_and_any_page_redirects_to_login(
    aio: Any, page: Any, erp: SimProcess
) -> None:
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    cookie = _cookie_header(aio.run(page.cookies()))
    erp.set_faults(session_expiry_s=0.2)
    aio.run(asyncio.sleep(0.5))
    (status,) = aio.run(_get_at_once(erp.url + "Default.aspx", cookie, 1))
    assert status == 302
    assert erp.counters()["session_expiries"] == 1


def test_logins_past_the_limit_are_refused_per_address_until_reset(
    aio: Any, page: Any, erp: SimProcess
) -> None:
    # Given an ERP that allows 2 logins per address per hour
    erp.set_faults(login_limit=2, login_window_s=3600)
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    aio.run(login(page, erp.url, OTHER, OTHER_PASSWORD))
    # When the same address logs in a third time, with right credentials
    with pytest.raises(LoginThrottled, match="403") as info:
        aio.run(login(page, erp.url, AGENT, PASSWORD))
    # Then the ERP refused it with 403, saying when to come back, and logged nobody in
    assert info.value.retry_after_s is not None and info.value.retry_after_s > 3000
    assert "Access is denied" in aio.run(page.content())
    counters = erp.counters()
    assert counters["logins"] == {AGENT: 1, OTHER: 1}
    assert sum(counters["logins_refused"].values()) == 1
    (address,) = erp.call("GET", "/__sim/logins")["addresses"].values()
    assert address["in_window"] == 2 and address["blocked"] and address["refused"] == 1
    # and once the operator lifts the block (admin reset), logins work again
    erp.call("DELETE", "/__sim/logins")
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    assert erp.counters()["logins"] == {AGENT: 2, OTHER: 1}


def test_the_login_window_slides(aio: Any, page: Any, erp: SimProcess) -> None:
    # A window that outlasts a login on a loaded machine (0.5 s let the second post through)
    erp.set_faults(login_limit=1, login_window_s=3)
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    with pytest.raises(LoginThrottled):
        aio.run(login(page, erp.url, AGENT, PASSWORD))
    aio.run(asyncio.sleep(3.2))
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    assert erp.counters()["logins"] == {AGENT: 2}


def test_a_login_whose_landing_page_fails_keeps_its_session_instead_of_costing_another(
    aio: Any, page: Any, erp: SimProcess
) -> None:
    # Given an ERP whose every page load answers 500 (Login.aspx itself still answers)
    erp.set_faults(error_rate=1.0)
    # When the login post is accepted but the landing page fails
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    # Then the session the post opened is kept: it works once the ERP does, with one login
    erp.set_faults(error_rate=0.0)
    assert aio.run(is_logged_in(page, erp.url))
    assert erp.counters()["logins"] == {AGENT: 1}
