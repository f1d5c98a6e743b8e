"""Login.aspx (WebForms post), Default.aspx and Logout.aspx."""

from __future__ import annotations

from html import escape
from urllib.parse import unquote

from aiohttp import web

from erpsim import urls, viewstate
from erpsim.html_layout import HEAD, server_error_page
from erpsim.sessions import AUTH_COOKIE, SESSION_COOKIE
from erpsim.sim import sim_of

USER_INPUT = "Logon_v0_MainLayoutEdit_xaf_l30_xaf_dviUserName_Edit_I"
PASSWORD_INPUT = "Logon_v0_MainLayoutEdit_xaf_l35_xaf_dviPassword_Edit_I"
LOGIN_BUTTON = "Logon_PopupActions_Menu_DXI0_T"
ERROR_CELL = "Logon_v0_MainLayoutEdit_xaf_l20_ErrorInfo"


def _login_page(username: str = "", error: str = "") -> str:
    error_html = (
        f'<tr><td id="{ERROR_CELL}" class="ErrorMessage dxeErrorCell">{escape(error)}</td></tr>'
        if error
        else ""
    )
    return (
        f"<!DOCTYPE html><html><head>{HEAD}<title>Accesso - Archibald</title></head>"
        '<body class="LogonTemplate"><form id="form1" method="post" action="">'
        f"{viewstate.hidden_fields(viewstate.ViewState(page='Login'))}"
        '<div id="Logon_v0" class="LogonContent"><table id="Logon_v0_MainLayoutEdit" class="Layout">'
        '<tr><td class="LogonText">Benvenuto in Archibald. Inserire nome account e password.</td></tr>'
        f"{error_html}"
        f'<tr><td><label for="{USER_INPUT}">NOME ACCOUNT:</label>'
        f'<input type="text" id="{USER_INPUT}" name="{USER_INPUT}" value="{escape(username)}" '
        'class="dxeEditArea_XafTheme" autocomplete="off"></td></tr>'
        f'<tr><td><label for="{PASSWORD_INPUT}">PASSWORD:</label>'
        f'<input type="password" id="{PASSWORD_INPUT}" name="{PASSWORD_INPUT}" value="" '
        'class="dxeEditArea_XafTheme"></td></tr>'
        '<tr><td id="Logon_PopupActions"><ul id="Logon_PopupActions_Menu" class="dxm-main"><li class="dxm-item">'
        f'<button type="submit" id="{LOGIN_BUTTON}" class="dxm-content dxbButton_XafTheme" '
        'name="Logon$PopupActions$Menu$DXI0" value="Accedi"><span class="dx-vam">Accedi</span></button>'
        "</li></ul></td></tr></table></div></form></body></html>"
    )


async def login(request: web.Request) -> web.StreamResponse:
    sim = sim_of(request)
    if request.method == "GET":
        return web.Response(text=_login_page(), content_type="text/html")
    form = await request.post()
    posted = viewstate.decode(
        _text(form.get("__VIEWSTATE")),
        _text(form.get("__VIEWSTATEGENERATOR")),
        _text(form.get("__EVENTVALIDATION")),
    )
    if posted is None or posted.page != "Login":
        sim.counters.server_errors += 1
        return web.Response(text=server_error_page(), content_type="text/html", status=500)
    username = (_text(form.get(USER_INPUT)) or "").strip()
    password = _text(form.get(PASSWORD_INPUT)) or ""
    agent = sim.state.check_password(username, password)
    if agent is None:
        error = (
            f"Accesso non riuscito per '{username}'. Verificare che il nome account sia corretto "
            "e reinserire la password rispettando maiuscole e minuscole."
        )
        return web.Response(text=_login_page(username, error), content_type="text/html")
    session = sim.sessions.create(agent.username, kick_others=sim.faults.second_login_kicks)
    sim.counters.logins[agent.username] += 1
    target = unquote(request.query.get("ReturnUrl", "")) or urls.DEFAULT
    if not target.startswith(urls.BASE) or target.startswith(urls.LOGIN):
        target = urls.DEFAULT
    response = web.HTTPFound(target)
    response.set_cookie(SESSION_COOKIE, session.session_id, path="/", httponly=True)
    response.set_cookie(AUTH_COOKIE, session.auth_token, path="/", httponly=True)
    raise response


async def default(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(urls.ANNOUNCEMENTS)


async def logout(request: web.Request) -> web.StreamResponse:
    sim = sim_of(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        sim.sessions.drop(session_id)
    response = web.HTTPFound(urls.LOGIN)
    response.del_cookie(AUTH_COOKIE, path="/")
    raise response


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
