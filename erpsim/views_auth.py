"""Login.aspx as the real one (FACTS §1, structure JSON ``login``), Default.aspx, Logout.aspx.

The page is one WebForms ``form1`` with no ``<button>``: the login action is the DevExpress
menu item ``Logon_PopupActions_Menu_DXI0_T`` ("Accedi"/"Log In" after Accept-Language) whose
click posts the form back with ``__EVENTTARGET=Logon$PopupActions$Menu``. Editor ids embed a
random 8-digit number that changes on every visit (``Logon_v0_{rand}_MainLayoutEdit_…``), so
the post is read by field-name pattern, whatever visit rendered it. A post without the login
event (e.g. a plain ``form.submit()``) re-renders the page, as WebForms does.

Enter in either input runs the same action. Unverified on the real ERP (FACTS says nothing);
XAF's logon window sets the login action as its default button, so Enter is taken to log in.

Cookies on success, as the real server's: ``Login`` (the auth ticket, httpOnly, session),
``ASP.NET_SessionId`` (httpOnly, session) and ``xafkidemovbUserName`` (httpOnly, 30 days; the
next visit pre-fills the user name from it). There is no ``.ASPXAUTH``.

An address that posted more than the fault ``login_limit`` logins within ``login_window_s``
gets IIS's 403 "Access is denied" page instead (see erpsim.login_limit).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from html import escape
from urllib.parse import unquote

from aiohttp import web

from erpsim import urls, viewstate
from erpsim.culture import Lang, label, lang_of
from erpsim.html_layout import HEAD, server_error_page
from erpsim.sessions import AUTH_COOKIE, SESSION_COOKIE, USERNAME_COOKIE, USERNAME_COOKIE_MAX_AGE_S
from erpsim.sim import sim_of

LOGIN_BUTTON = "Logon_PopupActions_Menu_DXI0_T"
#: The postback the login menu item sends (``__EVENTTARGET``, ``__EVENTARGUMENT``).
LOGIN_EVENT_TARGET = "Logon$PopupActions$Menu"
LOGIN_EVENT_ARGUMENT = "0"
_LAYOUT = "Logon$v0_{rand}$MainLayoutEdit$xaf_l12"
USER_EDITOR = _LAYOUT + "$xaf_l30$xaf_dviUserName_Edit"
PASSWORD_EDITOR = _LAYOUT + "$xaf_l35$xaf_dviPassword_Edit"
#: The posted names of the two editors, whatever random number the visit had.
USER_FIELD_RE = re.compile(
    r"^Logon\$v0_\d+\$MainLayoutEdit\$xaf_l12\$xaf_l30\$xaf_dviUserName_Edit$"
)
PASSWORD_FIELD_RE = re.compile(
    r"^Logon\$v0_\d+\$MainLayoutEdit\$xaf_l12\$xaf_l35\$xaf_dviPassword_Edit$"
)
_RAND_MIN = 10_000_000
_RAND_SPAN = 90_000_000

#: The postback function ASP.NET writes inline into every WebForms page, plus the login page's
#: own wiring: the menu item's click and Enter in an editor post the login event.
_LOGIN_SCRIPT = """<script type="text/javascript">
//<![CDATA[
var theForm = document.forms['form1'];
function __doPostBack(eventTarget, eventArgument) {
  if (!theForm.onsubmit || (theForm.onsubmit() != false)) {
    theForm.__EVENTTARGET.value = eventTarget;
    theForm.__EVENTARGUMENT.value = eventArgument;
    theForm.submit();
  }
}
(function () {
  var login = function () { __doPostBack('%(target)s', '%(argument)s'); };
  document.getElementById('%(button)s').addEventListener('click', function (ev) {
    ev.preventDefault(); login();
  });
  document.querySelectorAll('#Logon_v0 input.dxeEditArea_XafTheme').forEach(function (input) {
    input.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter') { ev.preventDefault(); login(); }
    });
  });
})();
//]]>
</script>"""


#: What a blocked address gets for a login post: IIS's own 403 page (the operator's block of
#: a client that logs in too often works on the address, before the application).
ACCESS_DENIED_PAGE = (
    "<!DOCTYPE html><html><head><title>403 - Forbidden: Access is denied.</title></head><body>"
    '<div id="header"><h1>Server Error</h1></div><div id="content"><div class="content-container">'
    "<fieldset><h2>403 - Forbidden: Access is denied.</h2>"
    "<h3>You do not have permission to view this directory or page using the credentials that "
    "you supplied.</h3></fieldset></div></div></body></html>"
)


def _client_id(name: str) -> str:
    return name.replace("$", "_")


def _editor(name: str, kind: str, value: str, caption: str) -> str:
    """A DevExpress text editor: EditorClientInfo hidden input, caption, ``…_I`` input."""
    input_id = _client_id(name) + "_I"
    return (
        f'<tr><td class="Caption"><label for="{input_id}">{escape(caption)}</label></td>'
        f'<td><table id="{_client_id(name)}" class="dxeTextBoxSys dxeTextBox_XafTheme"><tr><td>'
        f'<input type="hidden" id="{name}_EditorClientInfo" name="{name}_EditorClientInfo" value="">'
        f'<input type="{kind}" id="{input_id}" name="{name}" value="{escape(value)}" '
        'class="dxeEditArea_XafTheme dxeEditAreaSys" autocomplete="off">'
        "</td></tr></table></td></tr>"
    )


def _login_page(lang: Lang, action: str, username: str = "", error: str = "") -> str:
    rand = str(_RAND_MIN + secrets.randbelow(_RAND_SPAN))
    layout = f"Logon_v0_{rand}_MainLayoutEdit"
    error_html = (
        f'<tr><td colspan="2"><div id="{layout}_xaf_l20_ErrorInfo" class="ErrorInfo">'
        '<table><tr><td class="ErrorMessage dxeErrorCell">'
        f"{escape(error)}</td></tr></table></div></td></tr>"
        if error
        else ""
    )
    script = _LOGIN_SCRIPT % {
        "target": LOGIN_EVENT_TARGET,
        "argument": LOGIN_EVENT_ARGUMENT,
        "button": LOGIN_BUTTON,
    }
    return (
        f"<!DOCTYPE html><html><head>{HEAD}<title>{escape(label('login_title', lang))}</title>"
        '</head><body class="LogonTemplate">'
        f'<form id="form1" method="post" action="{escape(action)}">'
        f"{viewstate.hidden_fields(viewstate.ViewState(page='Login'))}"
        f'<div id="Logon_v0" class="LogonContent"><table id="{layout}" class="Layout">'
        f'<tr><td colspan="2" class="LogonText">{escape(label("login_welcome", lang))}</td></tr>'
        f"{error_html}"
        f"{_editor(USER_EDITOR.format(rand=rand), 'text', username, label('login_user', lang))}"
        f"{_editor(PASSWORD_EDITOR.format(rand=rand), 'password', '', label('login_password', lang))}"
        '<tr><td colspan="2" id="Logon_PopupActions">'
        '<div id="Logon_PopupActions_Menu" class="dxmLite_XafTheme dxm-ltr">'
        '<div class="dxm-main dxm-horizontal"><ul class="dx dxm-noImages">'
        '<li id="Logon_PopupActions_Menu_DXI0_" class="dxm-item dxm-noSubMenu">'
        f'<a id="{LOGIN_BUTTON}" class="dxm-content dxm-hasText" title="{escape(label("login", lang))}">'
        f'<span class="dx-vam">{escape(label("login", lang))}</span></a></li>'
        "</ul></div></div></td></tr></table></div>"
        '<input type="hidden" id="ClientServerParams" name="ClientServerParams" value="">'
        '<input type="hidden" id="Sc_xPos" name="Sc$xPos" value="0">'
        '<input type="hidden" id="Sc_yPos" name="Sc$yPos" value="0">'
        '<input type="hidden" name="DXScript" value="1_16,1_17,1_28,1_66,1_18,1_19,1_225">'
        '<input type="hidden" name="DXCss" value="0_2869,1_12,1_14,0_2874">'
        f"</form>{script}</body></html>"
    )


def _form_value(form: Mapping[str, object], pattern: re.Pattern[str]) -> str:
    """The value of the first posted field whose name matches ``pattern``."""
    for name, value in form.items():
        if pattern.match(name) and isinstance(value, str):
            return value
    return ""


async def login(request: web.Request) -> web.StreamResponse:
    sim = sim_of(request)
    lang = lang_of(request)
    action = request.raw_path
    if request.method == "GET":
        remembered = request.cookies.get(USERNAME_COOKIE, "")
        return web.Response(text=_login_page(lang, action, remembered), content_type="text/html")
    form = await request.post()
    posted = viewstate.decode(
        _text(form.get("__VIEWSTATE")),
        _text(form.get("__VIEWSTATEGENERATOR")),
        _text(form.get("__EVENTVALIDATION")),
    )
    if posted is None or posted.page != "Login":
        sim.counters.server_errors += 1
        return web.Response(text=server_error_page(), content_type="text/html", status=500)
    username = _form_value(form, USER_FIELD_RE).strip()
    password = _form_value(form, PASSWORD_FIELD_RE)
    is_login_event = (
        form.get("__EVENTTARGET") == LOGIN_EVENT_TARGET
        and form.get("__EVENTARGUMENT") == LOGIN_EVENT_ARGUMENT
    )
    if not is_login_event:
        return web.Response(text=_login_page(lang, action, username), content_type="text/html")
    sim.counters.login_posts[username] += 1
    address = request.remote or "unknown"
    faults = sim.faults
    if not sim.login_limiter.allow(address, faults.login_limit, faults.login_window_s):
        sim.counters.logins_refused[address] += 1
        retry_after_s = sim.login_limiter.retry_after_s(address, faults.login_window_s)
        return web.Response(
            text=ACCESS_DENIED_PAGE, content_type="text/html", status=403,
            headers={"Retry-After": str(int(retry_after_s) + 1)},
        )
    agent = sim.state.check_password(username, password)
    if agent is None:
        error = label("login_failed", lang).format(username=username)
        return web.Response(
            text=_login_page(lang, action, username, error), content_type="text/html"
        )
    session = sim.sessions.create(agent.username, kick_others=sim.faults.second_login_kicks)
    sim.counters.logins[agent.username] += 1
    target = unquote(request.query.get("ReturnUrl", "")) or urls.DEFAULT
    if not target.startswith(urls.BASE) or target.startswith(urls.LOGIN):
        target = urls.DEFAULT
    response = web.HTTPFound(target)
    response.set_cookie(SESSION_COOKIE, session.session_id, path="/", httponly=True, samesite="Lax")
    response.set_cookie(AUTH_COOKIE, session.auth_token, path="/", httponly=True, samesite="Lax")
    response.set_cookie(
        USERNAME_COOKIE,
        agent.username,
        path="/",
        httponly=True,
        max_age=USERNAME_COOKIE_MAX_AGE_S,
    )
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
