"""The customer detail view: new customer (VAT check callback), edit, view and save."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from erpsim import html_customer as hc
from erpsim import urls
from erpsim.callbacks import Callback, reply
from erpsim.culture import Lang
from erpsim.detail_ids import Visit, posted_field
from erpsim.detail_texts import request_lang, text
from erpsim.errors import SimValidation
from erpsim.html_layout import ToolItem, page, server_error_page
from erpsim.html_layout import edit_tools as layout_edit_tools
from erpsim.model import Customer
from erpsim.registry import registry_lookup
from erpsim.sessions import Session
from erpsim.sim import Sim, session_of, sim_of
from erpsim.state import CUSTOMER_FIELDS
from erpsim.viewstate import ViewState, decode
from erpsim.writes import commit_write

PAGE_NEW = "CustNew"
PAGE_EDIT = "CustEdit"


def edit_tools(lang: Lang) -> tuple[ToolItem, ...]:
    """Edit mode: "Salvare" saves and stays (FACTS §6); its popout holds "Salva e chiudi"."""
    return layout_edit_tools(
        ToolItem(text("new", lang), "New", href=urls.NEW_CUSTOMER),
        text("save", lang),
        text("save_and_new", lang),
        text("save_and_close", lang),
        ToolItem(text("cancel", lang), "Cancel", href=urls.CUSTOMERS),
    )


def view_tools(lang: Lang) -> tuple[ToolItem, ...]:
    """View mode as the dump: New, Edit (→ ?mode=Edit), Refresh."""
    return (
        ToolItem(text("new", lang), "New", href=urls.NEW_CUSTOMER),
        ToolItem(text("edit", lang), "Edit"),
        ToolItem(text("refresh", lang), "Reload"),
    )


async def customer_detail(request: web.Request) -> web.StreamResponse:
    sim = sim_of(request)
    session = session_of(request)
    lang = request_lang(request)
    callback: Callback | None = request.get("callback")
    if callback is not None:
        return _callback(callback)
    if request.method == "POST":
        return await _save(sim, session, request, lang)
    raw_id = request.match_info.get("customer_id", "")
    if not raw_id:
        if request.query.get("NewObject", "").lower() != "true":
            raise web.HTTPFound(urls.CUSTOMERS)
        return _edit_page(sim, session, None, "", {}, lang)
    customer = sim.state.agent_customer_by_id(session.agent, int(raw_id))
    if customer is None:
        return _page(
            sim,
            session,
            text("customer", lang),
            "",
            ViewState(page="CustView"),
            (),
            status=404,
            banner=text("not_found", lang),
            lang=lang,
        )
    if request.query.get("mode", "").lower() == "edit":
        return _edit_page(sim, session, customer, "", {}, lang)
    return _page(
        sim,
        session,
        f"{text('customer', lang)} {customer.account}",
        hc.detail_body(hc.visit_for("View"), customer, {}, lang),
        ViewState(page="CustView"),
        view_tools(lang),
        lang=lang,
    )


def _page(
    sim: Sim,
    session: Session,
    title: str,
    body: str,
    view_state: ViewState,
    tools: tuple[ToolItem, ...],
    *,
    lang: Lang,
    banner: str = "",
    status: int = 200,
) -> web.Response:
    html = page(
        title=title,
        agent_name=sim.state.agents[session.agent].full_name,
        view_state=view_state,
        body=body,
        tools=tools,
        banner=banner,
        active=urls.CUSTOMERS,
        lang=lang,
    )
    return web.Response(text=html, content_type="text/html", status=status)


def _edit_page(
    sim: Sim,
    session: Session,
    customer: Customer | None,
    banner: str,
    values: dict[str, str],
    lang: Lang,
) -> web.Response:
    view_state = (
        ViewState(page=PAGE_NEW)
        if customer is None
        else ViewState(page=PAGE_EDIT, draft_key=str(customer.id))
    )
    title = (
        text("new_customer", lang)
        if customer is None
        else f"{text('customer', lang)} {customer.account}"
    )
    body = hc.detail_body(hc.visit_for("Edit"), customer, values, lang)
    return _page(sim, session, title, body, view_state, edit_tools(lang), banner=banner, lang=lang)


def _callback(callback: Callback) -> web.Response:
    """The VAT number check: fills the other fields when the public registry knows the VAT."""
    visit = Visit.parse(callback.control)
    if visit is None or not hc.is_vat_editor(callback.control):
        return reply(error=f"Unknown control: {callback.control}")
    found = registry_lookup(str(callback.param.get("value") or ""))
    values = {hc.input_id(visit, field): value for field, value in (found or {}).items()}
    return reply(control=callback.control, values=values or None)


async def _save(sim: Sim, session: Session, request: web.Request, lang: Lang) -> web.StreamResponse:
    form: Any = request["form"]
    posted = decode(
        form.get("__VIEWSTATE"), form.get("__VIEWSTATEGENERATOR"), form.get("__EVENTVALIDATION")
    )
    if posted is None or posted.page not in (PAGE_NEW, PAGE_EDIT):
        sim.counters.server_errors += 1
        return web.Response(text=server_error_page(), content_type="text/html", status=500)
    customer_id = int(posted.draft_key) if posted.page == PAGE_EDIT else None
    existing = (
        None if customer_id is None else sim.state.agent_customer_by_id(session.agent, customer_id)
    )
    argument = str(form.get("__EVENTARGUMENT") or "")
    if argument not in ("Save", "SaveAndNew", "SaveAndClose"):
        raise web.HTTPFound(urls.CUSTOMERS)
    strings = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    values = {field: posted_field(strings, field) or "" for field in CUSTOMER_FIELDS}
    try:
        saved = commit_write(
            sim,
            "customer_update" if customer_id is not None else "customer_create",
            lambda: sim.state.save_customer(session.agent, customer_id, values),
        )
    except SimValidation as exc:
        return _edit_page(sim, session, existing, exc.message, values, lang)
    if argument == "SaveAndClose":
        raise web.HTTPFound(urls.CUSTOMERS)
    if argument == "SaveAndNew":
        raise web.HTTPFound(urls.NEW_CUSTOMER)
    raise web.HTTPFound(urls.customer_detail(saved.id))
