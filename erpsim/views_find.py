"""Default.aspx?FindPopup=true: the iframe page of a customer lookup (erpsim.find_popup)."""

from __future__ import annotations

from aiohttp import web

from erpsim import find_popup, views_auth
from erpsim.callbacks import Callback, reply
from erpsim.detail_texts import request_lang
from erpsim.html_layout import HEAD
from erpsim.sim import session_of
from erpsim.views_customer import FIND_ACTION_PREFIX
from erpsim.viewstate import ViewState, hidden_fields


async def default(request: web.Request) -> web.StreamResponse:
    """Default.aspx: a FindPopup when asked for one (its ActionID opened by a lookup button),
    else the start page."""
    if request.query.get("FindPopup", "").lower() != "true":
        return await views_auth.default(request)
    session = session_of(request)
    action = request.query.get("ActionID", "")
    field = session.forms.get(f"{FIND_ACTION_PREFIX}{action}")
    if not isinstance(field, str):
        raise web.HTTPNotFound(text="no such FindPopup action")
    lang = request_lang(request)
    callback: Callback | None = request.get("callback")
    if callback is not None:
        if callback.command != "SEARCH":
            return reply(error=f"Unknown command {callback.command!r} of {callback.control}")
        search = str(callback.param.get("text") or "")
        inner = find_popup.grid_rows(callback.control, field, search, lang)
        return reply(control=callback.control, updates={f"{callback.control}_CC": inner})
    hidden = hidden_fields(ViewState(page=find_popup.PAGE, draft_key=action))
    html = find_popup.page_html(field, action, lang, hidden, HEAD)
    return web.Response(text=html, content_type="text/html")
