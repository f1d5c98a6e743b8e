"""The order detail view: new order flow, line callbacks, save, and view mode."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from aiohttp import web

from erpsim import html_order as ho
from erpsim import urls
from erpsim.callbacks import Callback, reply
from erpsim.config import DEFAULT_ARTICLE_DROPDOWN_ROWS
from erpsim.errors import SimValidation
from erpsim.fmt import parse_decimal, parse_it_date
from erpsim.html_layout import ToolItem, page, server_error_page
from erpsim.model import TRANSFER_EDITABLE, Order, OrderLine
from erpsim.sessions import Session
from erpsim.sim import Sim, session_of, sim_of
from erpsim.viewstate import ViewState, decode
from erpsim.writes import commit_write

MAX_DRAFTS_PER_SESSION = 8
EDIT_TOOLS = (
    ToolItem(
        "Salvare",
        "SaveMenu",
        children=(ToolItem("Salva", "Save"), ToolItem("Salva e chiudi", "SaveAndClose")),
    ),
    ToolItem("Annulla", "Cancel"),
)
VIEW_TOOLS = (ToolItem("Modifica", "Edit"), ToolItem("Chiudi", "Close"))


async def order_detail(request: web.Request) -> web.StreamResponse:
    sim = sim_of(request)
    session = session_of(request)
    callback: Callback | None = request.get("callback")
    if callback is not None:
        return _callback(sim, session, request, callback)
    if request.method == "POST":
        return await _save(sim, session, request)
    order_id = request.match_info.get("order_id", "")
    if not order_id:
        if request.query.get("NewObject", "").lower() != "true":
            raise web.HTTPFound(urls.ORDERS)
        key = _new_draft(session)
        return _edit_page(sim, session, key, "", {})
    order = sim.state.orders.get(int(order_id))
    if order is not None and order.agent != session.agent:
        order = None
    if request.query.get("mode", "").lower() == "edit":
        if order is None:
            return _not_found(sim, session)
        try:
            sim.state.editable_order(session.agent, order.id)
        except SimValidation as exc:
            return _view_page(sim, session, order, exc.message)
        return _edit_page(sim, session, _edit_draft(session, order), "", {})
    draft_key = _draft_key_for(session, int(order_id))
    if draft_key is not None and order is None:
        # A new order being entered (its URL carries the id after the first line). A saved
        # order opens in view mode, as in XAF: an edit left unsaved is not resumed by a GET.
        return _edit_page(sim, session, draft_key, "", {})
    if order is None:
        return _not_found(sim, session)
    return _view_page(sim, session, order, "")


def _view_page(sim: Sim, session: Session, order: Order, banner: str) -> web.Response:
    """A saved order in view mode; a sent order offers no "Modifica"."""
    editable = order.transfer_status == TRANSFER_EDITABLE
    html = page(
        title=f"Ordine {order.id}",
        agent_name=sim.state.agents[session.agent].full_name,
        view_state=ViewState(page="SalesView"),
        body=ho.view_body(sim.state, order),
        tools=VIEW_TOOLS if editable else VIEW_TOOLS[1:],
        banner=banner,
        active=urls.ORDERS,
    )
    return web.Response(text=html, content_type="text/html")


def _edit_draft(session: Session, order: Order) -> str:
    """A fresh session copy of a saved order to edit; replaces older copies of it."""
    for key in [k for k, d in session.drafts.items() if d.id == order.id]:
        del session.drafts[key]
    key = _new_draft(session)
    session.drafts[key] = copy.deepcopy(order)
    return key


def _new_draft(session: Session) -> str:
    while len(session.drafts) >= MAX_DRAFTS_PER_SESSION:
        session.drafts.pop(next(iter(session.drafts)))
    key = secrets.token_hex(8)
    session.drafts[key] = Order(id=0, agent=session.agent, customer=None)
    return key


def _draft_key_for(session: Session, order_id: int) -> str | None:
    return next((k for k, d in session.drafts.items() if d.id == order_id), None)


def _edit_page(
    sim: Sim, session: Session, key: str, banner: str, posted: dict[str, str]
) -> web.Response:
    draft = session.drafts[key]
    html = page(
        title="Ordine" if not draft.id else f"Ordine {draft.id}",
        agent_name=sim.state.agents[session.agent].full_name,
        view_state=ViewState(page="SalesEdit", draft_key=key),
        body=ho.edit_body(sim.state, draft, posted),
        tools=EDIT_TOOLS,
        banner=banner,
        active=urls.ORDERS,
    )
    return web.Response(text=html, content_type="text/html")


def _not_found(sim: Sim, session: Session) -> web.Response:
    html = page(
        title="Ordine",
        agent_name=sim.state.agents[session.agent].full_name,
        view_state=ViewState(page="SalesView"),
        body="",
        banner="L'oggetto richiesto non esiste o è stato eliminato.",
        active=urls.ORDERS,
    )
    return web.Response(text=html, content_type="text/html", status=404)


def _draft_from(session: Session, form: Any) -> tuple[str, Order] | None:
    posted = decode(
        form.get("__VIEWSTATE"), form.get("__VIEWSTATEGENERATOR"), form.get("__EVENTVALIDATION")
    )
    if posted is None or posted.draft_key not in session.drafts:
        return None
    return posted.draft_key, session.drafts[posted.draft_key]


async def _save(sim: Sim, session: Session, request: web.Request) -> web.StreamResponse:
    form = await request.post()
    found = _draft_from(session, form)
    if found is None:
        sim.counters.server_errors += 1
        return web.Response(text=server_error_page(), content_type="text/html", status=500)
    key, draft = found
    argument = str(form.get("__EVENTARGUMENT") or "")
    if argument not in ("Save", "SaveAndClose"):
        session.drafts.pop(key, None)
        raise web.HTTPFound(urls.ORDERS)
    posted = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    editing = bool(draft.created)

    def commit() -> None:
        _apply_header(draft, posted)
        sim.state.commit_order(copy.deepcopy(draft), editing=editing)
        session.drafts.pop(key, None)
        sim.counters.orders_saved += 1

    try:
        commit_write(sim, "order_edit" if editing else "order_save", commit)
    except SimValidation as exc:
        return _edit_page(sim, session, key, exc.message, posted)
    raise web.HTTPFound(urls.ORDERS if argument == "SaveAndClose" else urls.order_detail(draft.id))


def _apply_header(draft: Order, posted: dict[str, str]) -> None:
    def value(field: str) -> str:
        return posted.get(ho.field_input_id(field), "").strip()

    try:
        draft.delivery_date = parse_it_date(value("DELIVERYDATE"))
    except ValueError as exc:
        raise SimValidation(
            "Data Validation Error: 'Data di consegna' non è una data valida (gg/mm/aaaa)."
        ) from exc
    discount = value("DISCPERCENT")
    try:
        draft.discount = parse_decimal(discount) if discount else None
    except ValueError as exc:
        raise SimValidation("Data Validation Error: 'Sconto %' non è un numero valido.") from exc
    draft.reference = value("CUSTOMERREF")
    draft.purch_order_num = value("PURCHORDERFORMNUM")
    draft.notes = value("NOTES")


def _callback(sim: Sim, session: Session, request: web.Request, callback: Callback) -> web.Response:
    found = _draft_from(session, request["form"])
    if found is None:
        return reply(error="L'oggetto è scaduto o non esiste più. Ricaricare la pagina.")
    _, draft = found
    param = callback.param
    if callback.control == ho.LOOKUP_GRID:
        lookup = ho.lookup_page(
            sim.state, session.agent, str(param.get("search") or ""), _int(param.get("page"))
        )
        return reply(
            control=ho.LOOKUP_GRID,
            updates={f"{ho.LOOKUP_GRID}_CC": ho.lookup_inner(lookup)},
            state=lookup.state(),
        )
    if callback.control == ho.CUSTOMER_EDITOR:
        return _select_customer(sim, draft, str(param.get("key") or ""))
    if callback.control.startswith(ho.LINES_GRID) and "INVENTTABLE" in callback.control:
        editor = callback.control
        products = sim.state.search_products(str(param.get("text") or ""))
        rows = ho.article_rows(products, DEFAULT_ARTICLE_DROPDOWN_ROWS, editor)
        return reply(control=editor, updates={f"{editor}_DDD_L": rows}, show=[f"{editor}_DDD_PW"])
    if callback.control == ho.LINES_GRID:
        return _lines_callback(sim, draft, callback)
    return reply(error=f"Controllo sconosciuto: {callback.control}")


def _select_customer(sim: Sim, draft: Order, account: str) -> web.Response:
    customer = sim.state.agent_customer(draft.agent, account)
    if customer is None:
        return reply(error=f"Cliente '{account}' non trovato.")
    draft.customer = customer.account
    draft.customer_name = customer.name
    draft.delivery_address = f"{customer.street}, {customer.zip_code} {customer.city}"
    ed = ho.CUSTOMER_EDITOR
    return reply(
        control=ed,
        values={f"{ed}_I": customer.name, f"{ed}_VI": customer.account},
        updates={ho.ADDRESS_VIEW: draft.delivery_address},
        hide=[f"{ed}_DDD_PW"],
    )


def _lines_callback(sim: Sim, draft: Order, callback: Callback) -> web.Response:
    """AddNew / StartEdit / DeleteRow / UpdateEdit / CancelEdit on the draft's lines."""
    command = callback.command
    row = _row_index(draft, callback.param.get("row"))
    url = None
    if command == "AddNew":
        inner = ho.lines_inner(sim.state, draft, editing=True)
    elif command == "StartEdit" and row is not None:
        values = ho.line_values(draft.lines[row])
        inner = ho.lines_inner(sim.state, draft, editing=False, edit_row=row, values=values)
    elif command == "DeleteRow" and row is not None:
        del draft.lines[row]
        inner = ho.lines_inner(sim.state, draft, editing=False)
    elif command == "UpdateEdit":
        values = {
            k: str(callback.param.get(k) or "") for k in ("article", "variant", "qty", "disc")
        }
        try:
            line = _parse_line(sim, values)
        except SimValidation as exc:
            inner = ho.lines_inner(
                sim.state,
                draft,
                editing=row is None,
                edit_row=row,
                values=values,
                error=exc.message,
            )
            return reply(
                control=ho.LINES_GRID,
                updates={f"{ho.LINES_GRID}_CC": inner},
                state={"rows": len(draft.lines), "page": 0, "page_count": 1},
            )
        if row is None:
            draft.lines.append(line)
        else:
            draft.lines[row] = line
        if not draft.id:
            draft.id = sim.state.allocate_order_id()
            url = urls.order_detail(draft.id)
        inner = ho.lines_inner(sim.state, draft, editing=False)
    else:
        inner = ho.lines_inner(sim.state, draft, editing=False)
    updates = {f"{ho.LINES_GRID}_CC": inner}
    if draft.id:
        updates[ho.ORDER_ID_VIEW] = f"{draft.id:,}".replace(",", ".")
    return reply(
        control=ho.LINES_GRID,
        updates=updates,
        url=url,
        state={"rows": len(draft.lines), "page": 0, "page_count": 1},
    )


def _row_index(draft: Order, value: object) -> int | None:
    """A posted line index ("new" or out of range -> None)."""
    try:
        index = int(str(value))
    except ValueError:
        return None
    return index if 0 <= index < len(draft.lines) else None


def _parse_line(sim: Sim, values: dict[str, str]) -> OrderLine:
    article = values["article"].strip()
    product = sim.state.products_by_id.get(article) or sim.state.products_by_id.get(article.upper())
    if product is None:
        raise SimValidation(
            f"Articolo '{article}' non trovato. Selezionare un articolo dall'elenco.", "article"
        )
    variant = next((v for v in product.variants if v.variant_id == values["variant"]), None)
    if variant is None:
        if values["variant"]:
            raise SimValidation(
                f"Variante '{values['variant']}' non valida per l'articolo {article}.", "variant"
            )
        variant = product.variants[0]
    try:
        quantity = parse_decimal(values["qty"])
    except ValueError as exc:
        raise SimValidation(f"Quantità '{values['qty']}' non valida.", "quantity") from exc
    if quantity <= 0:
        raise SimValidation("La quantità deve essere maggiore di zero.", "quantity")
    discount = None
    if values["disc"].strip():
        try:
            discount = parse_decimal(values["disc"])
        except ValueError as exc:
            raise SimValidation(f"Sconto '{values['disc']}' non valido.", "discount") from exc
        if not 0 <= discount <= 100:
            raise SimValidation("Lo sconto deve essere compreso tra 0 e 100.", "discount")
    return OrderLine(product.item_id, variant.variant_id, quantity, discount, product.price_eur)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
