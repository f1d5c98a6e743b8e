"""The customer detail view: new customer (VAT check callback), edit, view and save."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from erpsim import html_customer as hc
from erpsim import urls
from erpsim.callbacks import Callback, reply
from erpsim.errors import SimValidation
from erpsim.html_layout import ToolItem, page, server_error_page
from erpsim.model import Customer
from erpsim.registry import registry_lookup
from erpsim.sessions import Session
from erpsim.sim import Sim, session_of, sim_of
from erpsim.state import CUSTOMER_FIELDS
from erpsim.viewstate import ViewState, decode
from erpsim.writes import commit_write

PAGE_NEW = "CustNew"
PAGE_EDIT = "CustEdit"
EDIT_TOOLS = (
    ToolItem(
        "Salvare",
        "SaveMenu",
        children=(ToolItem("Salva", "Save"), ToolItem("Salva e chiudi", "SaveAndClose")),
    ),
    ToolItem("Annulla", "Cancel"),
)
VIEW_TOOLS = (ToolItem("Modifica", "Edit"), ToolItem("Chiudi", "Close", href=urls.CUSTOMERS))


async def customer_detail(request: web.Request) -> web.StreamResponse:
    sim = sim_of(request)
    session = session_of(request)
    callback: Callback | None = request.get("callback")
    if callback is not None:
        return _callback(callback)
    if request.method == "POST":
        return await _save(sim, session, request)
    raw_id = request.match_info.get("customer_id", "")
    if not raw_id:
        if request.query.get("NewObject", "").lower() != "true":
            raise web.HTTPFound(urls.CUSTOMERS)
        return _edit_page(sim, session, None, "", {})
    customer = sim.state.agent_customer_by_id(session.agent, int(raw_id))
    if customer is None:
        return _page(
            sim,
            session,
            "Cliente",
            "",
            ViewState(page="CustView"),
            (),
            status=404,
            banner="L'oggetto richiesto non esiste o è stato eliminato.",
        )
    if request.query.get("mode", "").lower() == "edit":
        return _edit_page(sim, session, customer, "", {})
    return _page(
        sim,
        session,
        f"Cliente {customer.account}",
        hc.view_body(customer),
        ViewState(page="CustView"),
        VIEW_TOOLS,
    )


def _page(
    sim: Sim,
    session: Session,
    title: str,
    body: str,
    view_state: ViewState,
    tools: tuple[ToolItem, ...],
    *,
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
    )
    return web.Response(text=html, content_type="text/html", status=status)


def _edit_page(
    sim: Sim, session: Session, customer: Customer | None, banner: str, values: dict[str, str]
) -> web.Response:
    view_state = (
        ViewState(page=PAGE_NEW)
        if customer is None
        else ViewState(page=PAGE_EDIT, draft_key=str(customer.id))
    )
    title = "Nuovo cliente" if customer is None else f"Cliente {customer.account}"
    return _page(
        sim, session, title, hc.edit_body(customer, values), view_state, EDIT_TOOLS, banner=banner
    )


def _callback(callback: Callback) -> web.Response:
    """The VAT number check: fills the other fields when the public registry knows the VAT."""
    if callback.control != hc.VAT_EDITOR:
        return reply(error=f"Controllo sconosciuto: {callback.control}")
    found = registry_lookup(str(callback.param.get("value") or ""))
    values = {hc.input_id(field): text for field, text in (found or {}).items()}
    return reply(control=hc.VAT_EDITOR, values=values or None)


async def _save(sim: Sim, session: Session, request: web.Request) -> web.StreamResponse:
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
    if argument not in ("Save", "SaveAndClose"):
        raise web.HTTPFound(urls.CUSTOMERS)
    values = {field: str(form.get(hc.input_id(field)) or "") for field in CUSTOMER_FIELDS}
    try:
        saved = commit_write(
            sim,
            "customer_update" if customer_id is not None else "customer_create",
            lambda: sim.state.save_customer(session.agent, customer_id, values),
        )
    except SimValidation as exc:
        return _edit_page(sim, session, existing, exc.message, values)
    raise web.HTTPFound(
        urls.CUSTOMERS if argument == "SaveAndClose" else urls.customer_detail(saved.id)
    )
