"""Logging in through the simulator's Login.aspx in real Chromium, as the bot does."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from erp.errors import ErpUnavailable, LoginRejected, LoginUnreached
from erp.session import _FIND_LOGIN_ACTION_JS as FIND_LOGIN_ACTION_JS
from erp.session import is_logged_in, is_login_page, login, touch_session
from tests.fix_erpsim import SimProcess

AGENT, PASSWORD = "agent01", "pw-agent01"
USER_INPUT = 'input[id*="dviUserName_Edit_I"]'
PASSWORD_INPUT = 'input[id*="dviPassword_Edit_I"]'


def _speak(aio: Any, page: Any, accept_language: str) -> None:
    aio.run(page.setExtraHTTPHeaders({"Accept-Language": accept_language}))


@pytest.mark.parametrize("accept_language", ["it-IT,it;q=0.9", "en-US,en;q=0.9"])
def test_login_lands_on_the_announcements_in_either_language(
    aio: Any, page: Any, erp: SimProcess, accept_language: str
) -> None:
    _speak(aio, page, accept_language)
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    assert page.url.endswith("/Archibald/Announcements_ListView/")
    cookies = {c["name"]: c for c in aio.run(page.cookies())}
    assert set(cookies) == {"ASP.NET_SessionId", "Login", "xafkidemovbUserName"}
    assert all(c["httpOnly"] for c in cookies.values())
    assert cookies["Login"]["session"] and not cookies["xafkidemovbUserName"]["session"]
    assert aio.run(is_logged_in(page, erp.url))
    assert erp.counters()["logins"] == {AGENT: 1}


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("it-IT,it;q=0.9", "Accesso non riuscito per 'agent01'"),
        ("en-US", "Login failed for 'agent01'"),
    ],
)
def test_a_wrong_password_is_login_rejected_with_the_erp_message(
    aio: Any, page: Any, erp: SimProcess, accept_language: str, expected: str
) -> None:
    _speak(aio, page, accept_language)
    with pytest.raises(LoginRejected, match=expected) as info:
        aio.run(login(page, erp.url, AGENT, "wrong"))
    assert "wrong" not in str(info.value)
    assert is_login_page(page.url) and "ReturnUrl=%2fArchibald%2fDefault.aspx" in page.url
    assert erp.counters()["logins"] == {}


def test_a_login_page_answering_503_is_login_unreached_and_posts_nothing(
    aio: Any, page: Any, erp: SimProcess
) -> None:
    # Given an ERP in an outage (every page answers 503)
    erp.set_faults(outage_s=60)
    # Then a login is LoginUnreached (a kind of ErpUnavailable): nothing was posted
    with pytest.raises(LoginUnreached, match="HTTP 503") as info:
        aio.run(login(page, erp.url, AGENT, PASSWORD))
    assert isinstance(info.value, ErpUnavailable) and PASSWORD not in str(info.value)
    erp.set_faults(outage_s=0)
    counters = erp.counters()
    assert counters["login_posts"] == {} and counters["logins"] == {}
    assert counters["outage_rejections"] >= 1
    # and once the ERP answers, the same login goes through with one post
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    assert erp.counters()["login_posts"] == {AGENT: 1}


def test_a_refused_connection_is_login_unreached(aio: Any, page: Any) -> None:
    # Given an address where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Then the login never posts: LoginUnreached, at once
    with pytest.raises(LoginUnreached, match="ERR_CONNECTION_REFUSED"):
        aio.run(login(page, f"http://127.0.0.1:{port}/Archibald/", AGENT, PASSWORD))


def test_the_keepalive_request_tells_an_erp_that_does_not_answer_from_a_forgotten_session(
    aio: Any, page: Any, erp: SimProcess
) -> None:
    # Given a live session's cookies
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    cookies = aio.run(page.cookies())
    assert aio.run(touch_session(erp.url, cookies)) is True
    # Then an outage (503) and a refused connection raise ErpUnavailable — never "the session
    # is gone", which would drop it and cost a login when the ERP returns
    erp.set_faults(outage_s=60)
    with pytest.raises(ErpUnavailable, match="503"):
        aio.run(touch_session(erp.url, cookies))
    erp.set_faults(outage_s=0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ErpUnavailable):
        aio.run(touch_session(f"http://127.0.0.1:{port}/Archibald/", cookies))
    # and the session is still live once the ERP answers; one the ERP forgot reads False
    assert aio.run(touch_session(erp.url, cookies)) is True
    erp.expire(AGENT)
    assert aio.run(touch_session(erp.url, cookies)) is False
    assert erp.counters()["logins"] == {AGENT: 1}


def test_a_post_that_reached_the_erp_is_never_login_unreached(aio: Any, page: Any, erp: SimProcess) -> None:
    # Given a wrong password: the post reaches the ERP, which refuses it
    with pytest.raises(LoginRejected) as info:
        aio.run(login(page, erp.url, AGENT, "wrong"))
    # Then it is counted by the ERP as a login post, and is not "unreached"
    assert not isinstance(info.value, LoginUnreached)
    assert erp.counters()["login_posts"] == {AGENT: 1}


def test_enter_in_the_password_field_logs_in(aio: Any, page: Any, erp: SimProcess) -> None:
    async def type_and_press_enter() -> None:
        await page.goto(erp.url + "Login.aspx?ReturnUrl=%2fArchibald%2fDefault.aspx")
        await page.type(USER_INPUT, AGENT)
        await page.type(PASSWORD_INPUT, PASSWORD)
        await page.focus(PASSWORD_INPUT)
        await asyncio.gather(page.waitForNavigation(), page.keyboard.press("Enter"))

    aio.run(type_and_press_enter())
    assert not is_login_page(page.url)
    assert erp.counters()["logins"] == {AGENT: 1}


def test_the_input_ids_change_on_every_visit(aio: Any, page: Any, erp: SimProcess) -> None:
    async def user_input_id() -> str:
        await page.goto(erp.url + "Login.aspx")
        return str(await page.evaluate(f"() => document.querySelector('{USER_INPUT}').id"))

    first, second = aio.run(user_input_id()), aio.run(user_input_id())
    assert first != second
    assert aio.run(page.evaluate("() => document.querySelectorAll('button').length")) == 0


def test_success_is_judged_on_the_pathname_not_the_whole_url() -> None:
    login_url = "https://erp.example/Archibald/Login.aspx?ReturnUrl=%2fArchibald%2fDefault.aspx"
    assert is_login_page(login_url)
    assert is_login_page("http://h/Archibald/login.aspx")
    assert not is_login_page("http://h/Archibald/Default.aspx")
    assert not is_login_page("http://h/Archibald/Announcements_ListView/?from=Login.aspx")


@pytest.mark.parametrize("text", ["Accedi", "Log In", "LOGIN"])
def test_without_the_menu_id_the_innermost_login_text_is_clicked(
    aio: Any, page: Any, text: str
) -> None:
    # A later ERP build that renumbers the menu: no Logon_PopupActions_Menu_DXI0_T any more
    html = (
        '<div id="outer"><p>Benvenuto</p><ul><li id="item">'
        f'<a id="action"><span id="caption">{text}</span></a></li></ul>'
        '<a id="other">Password dimenticata? Accedi qui per recuperarla subito, grazie</a></div>'
    )
    aio.run(page.setContent(html))
    found = aio.run(
        page.evaluate(
            f"() => ({FIND_LOGIN_ACTION_JS})('#Logon_PopupActions_Menu_DXI0_T', "
            "['accedi'], ['log in', 'login']).id"
        )
    )
    assert found == "caption"
