"""The simulator at the HTTP level: login, sessions, admin API, faults, counters."""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html import unescape
from typing import Any

import pytest

from tests.fix_erpsim import SimProcess, start_erpsim

#: The login editors' posted names: the number in them is new on every visit.
USER_NAME_RE = re.compile(
    r'name="(Logon\$v0_\d{8}\$MainLayoutEdit\$xaf_l12\$xaf_l30\$xaf_dviUserName_Edit)"'
)
PASSWORD_NAME_RE = re.compile(
    r'name="(Logon\$v0_\d{8}\$MainLayoutEdit\$xaf_l12\$xaf_l35\$xaf_dviPassword_Edit)"'
)
LOGIN_EVENT = {"__EVENTTARGET": "Logon$PopupActions$Menu", "__EVENTARGUMENT": "0"}
HIDDEN = re.compile(r'name="(__[A-Z]+)" id="__[A-Z]+" value="([^"]*)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects."""

    def __init__(self, sim: SimProcess, accept_language: str = "en-US,en;q=0.9") -> None:
        self.sim = sim
        self.accept_language = accept_language
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(
        self, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        url = path if path.startswith("http") else self.sim.root + path
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(url, data, {"Accept-Language": self.accept_language})
        try:
            with self.opener.open(request, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()

    def login(
        self, user: str, password: str, event: dict[str, str] = LOGIN_EVENT
    ) -> tuple[int, dict[str, str], str]:
        login_path = "/Archibald/Login.aspx?ReturnUrl=%2fArchibald%2fDefault.aspx"
        _, _, html = self.request(login_path)
        form = dict(HIDDEN.findall(html)) | event
        form[_one(USER_NAME_RE, html)] = user
        form[_one(PASSWORD_NAME_RE, html)] = password
        return self.request(login_path, form)

    def cookies(self) -> set[str]:
        return {c.name for c in self.jar}


def _one(pattern: re.Pattern[str], html: str) -> str:
    found = pattern.findall(html)
    assert len(found) == 1, f"{pattern.pattern} found {found}"
    return str(found[0])


def test_login_sets_cookies_and_redirects(erp: SimProcess) -> None:
    browser = Browser(erp)
    status, headers, _ = browser.login("agent01", "pw-agent01")
    assert status == 302 and headers["Location"] == "/Archibald/Default.aspx"
    assert browser.cookies() == {"ASP.NET_SessionId", "Login", "xafkidemovbUserName"}
    status, headers, _ = browser.request("/Archibald/Default.aspx")
    assert status == 302 and headers["Location"] == "/Archibald/Announcements_ListView/"
    status, _, html = browser.request("/Archibald/SALESTABLE_ListView_Agent/")
    assert status == 200 and "dxgvDataRow_XafTheme" in html and "Count=" in html
    assert erp.counters()["logins"] == {"agent01": 1}


def test_wrong_password_stays_on_login(erp: SimProcess) -> None:
    browser = Browser(erp)
    status, _, html = browser.login("agent01", "nope")
    assert status == 200
    assert "Login failed for 'agent01'" in unescape(html) and "dxeErrorCell" in html
    assert browser.cookies() == set()


def test_login_page_is_the_real_ones(erp: SimProcess) -> None:
    login_path = "/Archibald/Login.aspx?ReturnUrl=%2fArchibald%2fDefault.aspx"
    english = Browser(erp).request(login_path)[2]
    italian = Browser(erp, accept_language="it-IT,it;q=0.9").request(login_path)[2]
    assert "<title>Log In</title>" in english
    for html in (english, italian):
        assert "<button" not in html
        assert f'id="form1" method="post" action="{login_path}"' in html
        assert re.search(
            r'id="Logon_v0_\d{8}_MainLayoutEdit_xaf_l12_xaf_l30_xaf_dviUserName_Edit_I"', html
        )
        assert re.search(
            r'type="password" id="Logon_v0_\d{8}_MainLayoutEdit_xaf_l12_xaf_l35_xaf_dviPassword_Edit_I"',
            html,
        )
        hidden_names = ("ClientServerParams", "Sc$xPos", "Sc$yPos", "DXScript", "DXCss")
        for hidden in (*hidden_names, "__VIEWSTATEGENERATOR", "__EVENTVALIDATION"):
            assert f'name="{hidden}"' in html
        assert html.count('_EditorClientInfo" name=') == 2
        assert 'id="Logon_PopupActions_Menu_DXI0_T"' in html
    assert '<span class="dx-vam">Log In</span>' in english
    assert '<span class="dx-vam">Accedi</span>' in italian
    # the random part of the ids is new on every visit
    assert _one(USER_NAME_RE, english) != _one(USER_NAME_RE, Browser(erp).request(login_path)[2])


def test_a_post_without_the_login_event_does_not_log_in(erp: SimProcess) -> None:
    browser = Browser(erp)
    status, _, html = browser.login("agent01", "pw-agent01", event={})
    assert status == 200 and "<title>Log In</title>" in html
    assert browser.cookies() == set() and erp.counters()["logins"] == {}


def test_login_cookies_are_the_real_ones(erp: SimProcess) -> None:
    browser = Browser(erp)
    browser.login("agent01", "pw-agent01")
    cookies = {c.name: c for c in browser.jar}
    assert set(cookies) == {"ASP.NET_SessionId", "Login", "xafkidemovbUserName"}
    for cookie in cookies.values():
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/"
    assert cookies["Login"].expires is None and cookies["ASP.NET_SessionId"].expires is None
    remembered_s = (cookies["xafkidemovbUserName"].expires or 0) - time.time()
    assert 29 * 86400 < remembered_s <= 30 * 86400
    assert len(cookies["Login"].value or "") >= 300
    # the next visit of Login.aspx offers the remembered user name
    browser.request("/Archibald/Logout.aspx")
    html = browser.request("/Archibald/Login.aspx")[2]
    assert re.search(r'dviUserName_Edit" value="agent01"', html)


def test_missing_viewstate_is_refused(erp: SimProcess) -> None:
    status, _, html = Browser(erp).request(
        "/Archibald/Login.aspx",
        {
            "Logon$v0_12345678$MainLayoutEdit$xaf_l12$xaf_l30$xaf_dviUserName_Edit": "agent01",
            "Logon$v0_12345678$MainLayoutEdit$xaf_l12$xaf_l35$xaf_dviPassword_Edit": "pw-agent01",
        }
        | LOGIN_EVENT,
    )
    assert status == 500 and "Server Error in '/Archibald' Application" in html


def test_unauthenticated_and_expired_sessions_redirect_to_login(erp: SimProcess) -> None:
    browser = Browser(erp)
    status, headers, _ = browser.request("/Archibald/CUSTTABLE_ListView_Agent/")
    assert status == 302
    assert (
        headers["Location"]
        == "/Archibald/Login.aspx?ReturnUrl=%2fArchibald%2fCUSTTABLE_ListView_Agent%2f"
    )
    browser.login("agent01", "pw-agent01")
    assert browser.request("/Archibald/CUSTTABLE_ListView_Agent/")[0] == 200
    erp.expire("agent01")
    status, headers, _ = browser.request("/Archibald/CUSTTABLE_ListView_Agent/")
    assert status == 302 and "Login.aspx?ReturnUrl=" in headers["Location"]
    # A callback of an expired session answers with a redirect for the page script.
    status, _, body = browser.request(
        "/Archibald/CUSTTABLE_ListView_Agent/",
        {"__CALLBACKID": "Vertical_v2_12345678_LE_v2", "__CALLBACKPARAM": "{}"},
    )
    assert status == 200 and '"redirect": "/Archibald/Login.aspx?ReturnUrl=' in body


def test_idle_expiry(erp: SimProcess) -> None:
    erp.set_faults(session_expiry_s=0.2)
    browser = Browser(erp)
    browser.login("agent01", "pw-agent01")
    assert browser.request("/Archibald/SALESTABLE_ListView_Agent/")[0] == 200
    time.sleep(0.3)
    assert browser.request("/Archibald/SALESTABLE_ListView_Agent/")[0] == 302


def test_second_login_kicks_the_first_when_enabled(erp: SimProcess) -> None:
    first, second = Browser(erp), Browser(erp)
    first.login("agent02", "pw-agent02")
    second.login("agent02", "pw-agent02")
    assert first.request("/Archibald/SALESTABLE_ListView_Agent/")[0] == 200
    erp.set_faults(second_login_kicks=True)
    second.login("agent02", "pw-agent02")
    assert first.request("/Archibald/SALESTABLE_ListView_Agent/")[0] == 302
    assert second.request("/Archibald/SALESTABLE_ListView_Agent/")[0] == 200


def test_grid_callback_pages_and_searches(erp: SimProcess) -> None:
    browser = Browser(erp)
    browser.login("agent01", "pw-agent01")
    _, _, html = browser.request("/Archibald/CUSTTABLE_ListView_Agent/")
    assert html.count('class="dxgvDataRow_XafTheme"') == 20 and "DXPagerBottom_PSI" in html
    grid = re.search(r'id="(Vertical_v2_\d+_LE_v2)"', html)
    assert grid is not None
    name = grid.group(1)
    _, _, body = browser.request(
        "/Archibald/CUSTTABLE_ListView_Agent/",
        {
            "__CALLBACKID": name,
            "__CALLBACKPARAM": json.dumps(
                {"cmd": "PAGE", "page": 1, "page_size": 20, "search": ""}
            ),
        },
    )
    reply = json.loads(body)
    assert reply["state"]["page"] == 1 and reply["state"]["page_count"] == 10
    account = erp.state("customers")["customers"][5]["account"]
    _, _, body = browser.request(
        "/Archibald/CUSTTABLE_ListView_Agent/",
        {
            "__CALLBACKID": name,
            "__CALLBACKPARAM": json.dumps(
                {"cmd": "SEARCH", "page": 0, "page_size": 20, "search": account}
            ),
        },
    )
    reply = json.loads(body)
    assert reply["state"]["total"] == 1 and account in reply["updates"][f"{name}_CC"]


def test_faults_get_and_put(erp: SimProcess) -> None:
    assert erp.faults()["error_rate"] == 0.0
    updated = erp.set_faults(error_rate=1.0, slow_ms=10, second_login_kicks=True)
    assert updated["error_rate"] == 1.0 and updated["second_login_kicks"] is True
    browser = Browser(erp)
    browser.login("agent01", "pw-agent01")
    status, _, html = browser.request("/Archibald/SALESTABLE_ListView_Agent/")
    assert status == 500 and "Server Error in '/Archibald' Application" in html
    with pytest.raises(urllib.error.HTTPError) as info:
        erp.set_faults(error_rate=2)
    assert info.value.code == 400
    erp.reset()
    assert erp.faults()["error_rate"] == 0.0


def test_outage_answers_503_for_its_duration_except_the_admin_api(erp: SimProcess) -> None:
    # Given a logged-in agent
    browser = Browser(erp)
    browser.login("agent02", "pw-agent02")
    # When the ERP goes down for a second
    assert erp.set_faults(outage_s=1.0)["outage_s"] > 0.5
    # Then pages, callbacks and the login page answer 503, and the admin API still answers
    assert browser.request("/Archibald/SALESTABLE_ListView_Agent/")[0] == 503
    assert browser.request("/Archibald/SALESTABLE_ListView_Agent/", {"__CALLBACKID": "x"})[0] == 503
    assert browser.request("/Archibald/Login.aspx")[0] == 503
    assert erp.counters()["outage_rejections"] == 3
    # And once the outage is over, the same session works again
    deadline = time.monotonic() + 10
    while erp.faults()["outage_s"] > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert erp.faults()["outage_s"] == 0
    assert browser.request("/Archibald/SALESTABLE_ListView_Agent/")[0] == 200


def test_reset_is_deterministic_and_scales(erp: SimProcess) -> None:
    erp.reset(seed=7, agents=3)
    first = erp.state()
    erp.reset(seed=7, agents=3)
    assert erp.state() == first
    assert [a["username"] for a in first["agents"]] == ["agent01", "agent02", "agent03"]
    assert first["agents"][0]["password"] == "pw-agent01"
    erp.reset(seed=8, agents=3)
    assert erp.state()["customers"] != first["customers"]
    erp.reset(agents=60)
    state = erp.state("agents")
    assert len(state["agents"]) == 60 and "customers" not in state
    order = erp.state("orders")["orders"][0]
    assert {
        "agent",
        "id",
        "customer",
        "lines",
        "notes",
        "reference",
        "status",
        "transfer_status",
        "sales_id",
        "created",
        "changed",
    } <= set(order)


def test_counters_see_overlapping_requests_of_one_agent(erp: SimProcess) -> None:
    browser = Browser(erp)
    browser.login("agent03", "pw-agent03")
    erp.set_faults(latency_ms=300)
    threads = [
        threading.Thread(target=browser.request, args=("/Archibald/SALESTABLE_ListView_Agent/",))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counters = erp.counters()
    assert counters["overlaps"] == 1 and counters["overlaps_by_agent"] == {"agent03": 1}
    assert counters["requests"] >= 4 and counters["logins"] == {"agent03": 1}


def test_request_times_are_each_agents_answered_requests(erp: SimProcess) -> None:
    # Given two agents logged in and a fixed latency
    first, second = Browser(erp), Browser(erp)
    first.login("agent03", "pw-agent03")
    second.login("agent04", "pw-agent04")
    erp.set_faults(latency_ms=50)
    before = time.time()
    # When agent03 asks for two pages and agent04 for one
    first.request("/Archibald/SALESTABLE_ListView_Agent/")
    between = time.time()
    first.request("/Archibald/CUSTTABLE_ListView_Agent/")
    second.request("/Archibald/SALESTABLE_ListView_Agent/")
    after = time.time()
    # Then each request is there once, under its agent, from arrival to answer (latency in)
    times = erp.request_times()
    assert sorted(times) == ["agent03", "agent04"]  # the login posts have no session yet
    mine = times["agent03"]
    assert [t["kind"] for t in mine] == ["page", "page"]
    assert before <= mine[0]["start_s"] and mine[0]["end_s"] <= between <= mine[1]["start_s"]
    assert mine[1]["end_s"] <= after
    assert all(t["end_s"] - t["start_s"] >= 0.05 for t in mine)
    # and the agent and since filters keep only what was asked for
    assert erp.request_times(agent="agent03", since_s=between) == {"agent03": [mine[1]]}
    erp.reset()
    assert erp.request_times() == {}


def test_admin_api_needs_token_without_test_mode() -> None:
    sim = start_erpsim(("--admin-token", "s3cret", "--agents", "2"), test_mode=False)
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(sim.root + "/__sim/counters", timeout=5)
        assert info.value.code == 403
        agents = sim.call("GET", "/__sim/state?include=agents", headers={"X-Sim-Token": "s3cret"})[
            "agents"
        ]
        assert agents[0] == {"username": "agent01", "name": agents[0]["name"]}  # no password
    finally:
        sim.stop()


def _hidden(html: str) -> dict[str, str]:
    return dict(HIDDEN.findall(html))


def test_customer_vat_check_save_and_state(erp: SimProcess, tmp_path: Any) -> None:
    from erpsim.registry import registry_lookup

    browser = Browser(erp)
    browser.login("agent02", "pw-agent02")
    status, _, html = browser.request("/Archibald/CUSTTABLE_DetailView/?NewObject=true")
    assert status == 200 and "xaf_dviVATNUM_Edit_I" in html and 'title="Save"' in html  # en-US
    vat = "12345678903"  # a valid check digit
    # ids carry the visit's random number: take them from the page, by their field name
    editor = re.search(r'id="(Vertical_v\d+_\d+_MainLayoutEdit_\w*_xaf_dviVATNUM_Edit)"', html)
    assert editor is not None
    editor = editor.group(1)
    form = _hidden(html)
    _, _, body = browser.request(
        "/Archibald/CUSTTABLE_DetailView/?NewObject=true",
        {
            **form,
            "__CALLBACKID": editor,
            "__CALLBACKPARAM": json.dumps({"cmd": "VATCHECK", "value": vat}),
        },
    )
    filled = json.loads(body).get("values", {})
    known = registry_lookup(vat)
    assert (known is None and not filled) or (
        known is not None and any(v == known["NAME"] for v in filled.values())
    )

    def inputs(page: str) -> dict[str, str]:
        values = {
            "VATNUM": vat,
            "NAME": "Bar Sport",
            "LEGALEMAIL": "bar.sport@pec.it",
            "PHONE": "",
            "STREET": "Via Verdi 2",
            "LOGISTICSADDRESSZIPCODE": "40121",
            "CITY": "Bologna (BO)",
            "FISCALCODE": "",
        }
        # The CAP is a lookup: the form posts the key its FindPopup chose (`_find_Edit_VI`).
        names = {
            f: re.search(
                rf'name="(Vertical_v\d+_\d+_MainLayoutEdit_\w*_xaf_dvi{f}_Edit'
                + ("_find_Edit_VI" if f == "LOGISTICSADDRESSZIPCODE" else "_I") + ')"',
                page,
            )
            for f in values
        }
        assert all(names.values()), names
        return {names[f].group(1): v for f, v in values.items()}  # type: ignore[union-attr]

    fields = inputs(html)
    status, headers, _ = browser.request(
        "/Archibald/CUSTTABLE_DetailView/?NewObject=true",
        {**form, **fields, "__EVENTTARGET": "Vertical$mainMenu", "__EVENTARGUMENT": "Save"},
    )
    assert status == 302 and "/CUSTTABLE_DetailView/" in headers["Location"]
    mine = [c for c in erp.state("customers")["customers"] if c["vat_number"] == vat]
    assert [(c["agent"], c["name"]) for c in mine] == [("agent02", "Bar Sport")]
    # a second save of the same VAT is refused with the Italian message
    _, _, html = browser.request("/Archibald/CUSTTABLE_DetailView/?NewObject=true")
    status, _, html = browser.request(
        "/Archibald/CUSTTABLE_DetailView/?NewObject=true",
        {**_hidden(html), **inputs(html), "__EVENTARGUMENT": "Save"},
    )
    assert status == 200 and f"già utilizzato dal cliente con ID: {mine[0]['account']}" in html


def test_sent_order_opens_read_only(erp: SimProcess) -> None:
    browser = Browser(erp)
    browser.login("agent01", "pw-agent01")
    sent = next(o for o in erp.orders("agent01") if o["transfer_status"] == "Trasferito")
    editable = next(o for o in erp.orders("agent01") if o["transfer_status"] == "Modifica")
    _, _, html = browser.request(f"/Archibald/SALESTABLE_DetailViewAgent/{sent['id']}/?mode=Edit")
    assert "già stato trasferito" in html and "xaf_dviTEXTEXTERNAL_Edit_I" not in html
    _, _, html = browser.request(
        f"/Archibald/SALESTABLE_DetailViewAgent/{editable['id']}/?mode=Edit"
    )
    assert "xaf_dviTEXTEXTERNAL_Edit_I" in html and "StartEdit" in html and "DeleteRow" in html


def test_send_twice_is_refused_and_the_state_file_keeps_it(tmp_path: Any) -> None:
    state_file = str(tmp_path / "sim.json")
    sim = start_erpsim(("--state-file", state_file, "--agents", "2", "--customers-per-agent", "5"))
    try:
        browser = Browser(sim)
        browser.login("agent01", "pw-agent01")
        editable = next(o for o in sim.orders("agent01") if o["transfer_status"] == "Modifica")
        _, _, body = browser.request(
            "/Archibald/SALESTABLE_ListView_Agent/",
            {
                "__CALLBACKID": "Vertical_v3_10000000_LE_v3",
                "__CALLBACKPARAM": json.dumps({"cmd": "Send", "keys": [editable["id"]]}),
            },
        )
        assert "error" not in json.loads(body)
        _, _, body = browser.request(
            "/Archibald/SALESTABLE_ListView_Agent/",
            {
                "__CALLBACKID": "Vertical_v3_10000000_LE_v3",
                "__CALLBACKPARAM": json.dumps({"cmd": "Send", "keys": [editable["id"]]}),
            },
        )
        assert "già stato inviato a Verona" in json.loads(body)["error"]
        sent = next(o for o in sim.orders("agent01") if o["id"] == editable["id"])
    finally:
        sim.stop()
    again = start_erpsim(("--state-file", state_file))
    try:
        assert next(o for o in again.orders("agent01") if o["id"] == editable["id"]) == sent
    finally:
        again.stop()


def test_state_file_keeps_created_and_updated_customers(tmp_path: Any) -> None:
    from erpsim.config import SimConfig
    from erpsim.state import SimState

    config = SimConfig(
        agents=2, customers_per_agent=3, products=20, state_file=str(tmp_path / "s.json")
    )
    state = SimState(config)
    fields = {
        "VATNUM": "12345678903",
        "NAME": "Bar Sport",
        "STREET": "Via Verdi 2",
        "LOGISTICSADDRESSZIPCODE": "40121",
        "CITY": "Bologna",
        "LEGALEMAIL": "bar.sport@pec.it",
    }
    created = state.save_customer("agent02", None, fields)
    first = state.customers_by_agent["agent01"][0]
    state.save_customer(
        "agent01",
        first.id,
        {
            "NAME": first.name,
            "STREET": "Via Nuova 1",
            "LOGISTICSADDRESSZIPCODE": first.zip_code,
            "CITY": first.city,
            "LEGALEMAIL": first.email,
        },
    )
    again = SimState(config)
    assert again.customers_by_account[created.account].to_json() == created.to_json()
    assert again.customers_by_id[first.id].street == "Via Nuova 1"
    assert len(again.customers) == 7 and again.next_account == state.next_account


def test_pages_carry_the_weight_of_the_devexpress_scripts(erp: SimProcess) -> None:
    # The login page loads DXR.axd without a session, cacheably, about a megabyte of script.
    browser = Browser(erp)
    _, _, html = browser.request("/Archibald/Login.aspx")
    src = re.search(r'<script src="(/Archibald/DXR\.axd[^"]*)"', html)
    assert src is not None
    status, headers, body = browser.request(src.group(1))
    assert status == 200 and "max-age" in headers["Cache-Control"]
    assert 900_000 <= len(body) <= 1_200_000
    assert erp.counters()["overlaps"] == 0


def test_any_agents_order_and_customer_open_by_id_as_on_the_live_erp(erp: SimProcess) -> None:
    """FACTS §13: detail views are reachable by id across agents (an IDOR of the live ERP);
    only the list views are the agent's own."""
    browser = Browser(erp)
    browser.login("agent01", "pw-agent01")
    theirs = next(o for o in erp.orders("agent02") if o["transfer_status"] == "Modifica")
    their_customer = next(c for c in erp.state(include="customers")["customers"]
                          if c["agent"] == "agent02")
    # When agent01 opens agent02's order by its id, in view and in edit mode
    status, _, html = browser.request(f"/Archibald/SALESTABLE_DetailViewAgent/{theirs['id']}/?mode=View")
    assert status == 200 and "xaf_dviTRANSFERSTATUS_View" in html
    status, _, html = browser.request(f"/Archibald/SALESTABLE_DetailViewAgent/{theirs['id']}/?mode=Edit")
    assert status == 200 and "xaf_dviTEXTEXTERNAL_Edit_I" in html
    # ...and agent02's customer
    status, _, html = browser.request(f"/Archibald/CUSTTABLE_DetailView/{their_customer['id']}/")
    assert status == 200 and their_customer["name"] in unescape(html)
    # Then the ERP shows them all, but agent01's own orders list does not hold agent02's order
    _, _, html = browser.request("/Archibald/SALESTABLE_ListView_Agent/")
    name = re.findall(r'id="(Vertical_v\d+_\d+_LE_v\d+)"', html)[0]
    _, _, body = browser.request("/Archibald/SALESTABLE_ListView_Agent/", {
        "__CALLBACKID": name,
        "__CALLBACKPARAM": json.dumps({"cmd": "SEARCH", "page": 0, "page_size": 20,
                                       "search": str(theirs["id"])}),
    })
    assert json.loads(body)["state"]["total"] == 0
