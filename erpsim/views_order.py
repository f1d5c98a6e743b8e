"""The order detail view: new order flow, line callbacks, save, and view mode."""

from __future__ import annotations

import copy
import secrets
from datetime import date
from typing import Any

from aiohttp import web

from erpsim import html_lines as hl
from erpsim import html_order as ho
from erpsim import html_weight, urls
from erpsim.callbacks import Callback, reply
from erpsim.config import DEFAULT_ARTICLE_DROPDOWN_ROWS
from erpsim.culture import Lang
from erpsim.detail_ids import Visit, posted_field
from erpsim.detail_texts import request_lang, text
from erpsim.errors import SimValidation
from erpsim.fmt import fmt_int, parse_decimal, parse_it_date
from erpsim.html_layout import ToolItem, page, server_error_page
from erpsim.html_layout import edit_tools as layout_edit_tools
from erpsim.model import Order, OrderLine
from erpsim.sessions import Session
from erpsim.sim import Sim, session_of, sim_of
from erpsim.viewstate import ViewState, decode
from erpsim.writes import commit_write

MAX_DRAFTS_PER_SESSION = 8
#: The view state of a saved order in view mode carries its id behind this prefix.
VIEW_KEY_PREFIX = "order:"


def edit_tools(lang: Lang) -> tuple[ToolItem, ...]:
    """Edit mode: "Salvare" saves; its popout (DXI1_P) holds "Salva e chiudi" (FACTS §2.18)."""
    return layout_edit_tools(
        ToolItem(text("new", lang), "New", href=urls.NEW_ORDER),
        text("save", lang),
        text("save_and_new", lang),
        text("save_and_close", lang),
        ToolItem(text("cancel", lang), "Cancel"),
    )


def view_tools(lang: Lang) -> tuple[ToolItem, ...]:
    """View mode as the dump: New, Edit (→ ?mode=Edit), Refresh."""
    return (
        ToolItem(text("new", lang), "New", href=urls.NEW_ORDER),
        ToolItem(text("edit", lang), "Edit"),
        ToolItem(text("refresh", lang), "Reload"),
    )


async def order_detail(request: web.Request) -> web.StreamResponse:
    sim = sim_of(request)
    session = session_of(request)
    lang = request_lang(request)
    callback: Callback | None = request.get("callback")
    if callback is not None:
        return _callback(sim, session, request, callback, lang)
    if request.method == "POST":
        return await _save(sim, session, request, lang)
    order_id = request.match_info.get("order_id", "")
    if not order_id:
        if request.query.get("NewObject", "").lower() != "true":
            raise web.HTTPFound(urls.ORDERS)
        return _edit_page(sim, session, _new_draft(session), "", {}, lang)
    order = sim.state.orders.get(int(order_id))
    if order is not None and order.agent != session.agent:
        order = None
    if request.query.get("mode", "").lower() == "edit":
        if order is None:
            return _not_found(sim, session, lang)
        try:
            sim.state.editable_order(session.agent, order.id)
        except SimValidation as exc:
            return _view_page(sim, session, order, exc.message, lang)
        return _edit_page(sim, session, _edit_draft(session, order), "", {}, lang)
    draft_key = _draft_key_for(session, int(order_id))
    if draft_key is not None and order is None:
        # A new order being entered (its URL carries the id after the first line). A saved
        # order opens in view mode, as in XAF: an edit left unsaved is not resumed by a GET.
        return _edit_page(sim, session, draft_key, "", {}, lang)
    if order is None:
        return _not_found(sim, session, lang)
    return _view_page(sim, session, order, "", lang)


def _html(
    sim: Sim,
    session: Session,
    title: str,
    view_state: ViewState,
    body: str,
    tools: tuple[ToolItem, ...],
    banner: str,
    lang: Lang,
    status: int = 200,
) -> web.Response:
    html = page(
        title=title,
        agent_name=sim.state.agents[session.agent].full_name,
        view_state=view_state,
        body=body,
        tools=tools,
        banner=banner,
        active=urls.ORDERS,
        lang=lang,
    )
    return web.Response(text=html, content_type="text/html", status=status)


def _view_page(sim: Sim, session: Session, order: Order, banner: str, lang: Lang) -> web.Response:
    """A saved order in view mode (`xaf_dvi{FIELD}_View`)."""
    body = ho.detail_body(ho.visit_for("View"), sim.state, order, lang)
    view_state = ViewState(page="SalesView", draft_key=f"{VIEW_KEY_PREFIX}{order.id}")
    title = f"{text('order', lang)} {fmt_int(order.id)}"
    return _html(sim, session, title, view_state, body, view_tools(lang), banner, lang)


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
    sim: Sim, session: Session, key: str, banner: str, posted: dict[str, str], lang: Lang
) -> web.Response:
    draft = session.drafts[key]
    body = ho.detail_body(
        ho.visit_for("Edit"),
        sim.state,
        draft,
        lang,
        posted=posted,
        weight=html_weight.DEFAULT_ORDER_EDIT_ELEMENTS,
    )
    title = (
        text("new_order", lang) if not draft.id else f"{text('order', lang)} {fmt_int(draft.id)}"
    )
    view_state = ViewState(page="SalesEdit", draft_key=key)
    return _html(sim, session, title, view_state, body, edit_tools(lang), banner, lang)


def _not_found(sim: Sim, session: Session, lang: Lang) -> web.Response:
    return _html(
        sim,
        session,
        text("order", lang),
        ViewState(page="SalesView"),
        "",
        (),
        text("not_found", lang),
        lang,
        status=404,
    )


def _posted_state(form: Any) -> ViewState | None:
    return decode(
        form.get("__VIEWSTATE"), form.get("__VIEWSTATEGENERATOR"), form.get("__EVENTVALIDATION")
    )


def _draft_from(session: Session, form: Any) -> tuple[str, Order] | None:
    posted = _posted_state(form)
    if posted is None or posted.draft_key not in session.drafts:
        return None
    return posted.draft_key, session.drafts[posted.draft_key]


async def _save(sim: Sim, session: Session, request: web.Request, lang: Lang) -> web.StreamResponse:
    form = await request.post()
    found = _draft_from(session, form)
    if found is None:
        sim.counters.server_errors += 1
        return web.Response(text=server_error_page(), content_type="text/html", status=500)
    key, draft = found
    argument = str(form.get("__EVENTARGUMENT") or "")
    if argument not in ("Save", "SaveAndNew", "SaveAndClose"):
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
        shown = {f: posted_field(posted, f) or "" for f in ho.FIELDS if ho.FIELDS[f].editable}
        return _edit_page(sim, session, key, exc.message, shown, lang)
    if argument == "SaveAndClose":
        raise web.HTTPFound(urls.ORDERS)
    if argument == "SaveAndNew":
        raise web.HTTPFound(urls.NEW_ORDER)
    raise web.HTTPFound(urls.order_detail(draft.id))


def _raw(posted: dict[str, str], field: str) -> str:
    """A field's invariant value: the editor's `_Raw` input, else its text."""
    for name, value in posted.items():
        if name.endswith(f"xaf_dvi{field}_Edit_Raw") and value.strip():
            return value.strip()
    return (posted_field(posted, field) or "").strip()


def _apply_header(draft: Order, posted: dict[str, str]) -> None:
    delivery = _raw(posted, "DELIVERYDATE")
    try:
        draft.delivery_date = (
            date.fromisoformat(delivery[:10]).isoformat()
            if "-" in delivery
            else parse_it_date(delivery)
        )
    except ValueError as exc:
        raise SimValidation(
            f"Data Validation Error: '{delivery}' is not a valid date (DELIVERYDATE)."
        ) from exc
    discount = _raw(posted, "MANUALDISCOUNT").replace("%", "").strip()
    try:
        value = float(discount) if discount else 0.0
    except ValueError:
        try:
            value = parse_decimal(discount)
        except ValueError as exc:
            raise SimValidation(
                f"Data Validation Error: '{discount}' is not a valid number (MANUALDISCOUNT)."
            ) from exc
    draft.discount = value or None
    draft.reference = (posted_field(posted, "PURCHORDERFORMNUM") or "").strip()
    draft.customer_ref = (posted_field(posted, "CUSTOMERREF") or "").strip()
    draft.notes = (posted_field(posted, "TEXTEXTERNAL") or "").strip()
    draft.internal_notes = (posted_field(posted, "TEXTINTERNAL") or "").strip()


def _callback(
    sim: Sim, session: Session, request: web.Request, callback: Callback, lang: Lang
) -> web.Response:
    control = callback.control
    visit = Visit.parse(control)
    form = request["form"]
    if visit is None:
        return reply(error=f"Unknown control: {control}")
    grid = ho.lines_grid_name(visit)
    posted = _posted_state(form)
    if control == grid and callback.command == "ROWVALUES" and posted is not None:
        order = _shown_order(sim, session, posted)
        if order is not None:
            fields = [str(f) for f in callback.param.get("fields") or []]
            shown = _int(callback.param.get("page"))
            return reply(control=grid, rowValues=hl.row_values(sim.state, order, fields, shown))
    if control == grid and callback.command == "PAGE" and posted is not None:
        page_reply = _lines_page(sim, session, posted, grid, callback, lang)
        if page_reply is not None:
            return page_reply
    found = _draft_from(session, form)
    if found is None:
        return reply(error="L'oggetto è scaduto o non esiste più. Ricaricare la pagina.")
    _, draft = found
    param = callback.param
    if control == ho.lookup_grid_name(visit):
        lookup = ho.lookup_page(
            sim.state, session.agent, str(param.get("search") or ""), _int(param.get("page"))
        )
        return reply(
            control=control,
            updates={f"{control}_CC": ho.lookup_inner(control, lookup)},
            state=ho.lookup_state(lookup),
        )
    if control == ho.customer_editor_name(visit):
        return _select_customer(sim, visit, draft, str(param.get("key") or ""))
    if control.startswith(grid) and control.endswith("_xaf_dviINVENTTABLE_Edit"):
        products = sim.state.search_products(str(param.get("text") or ""))
        gv = f"{control}_DDD_gv"
        rows = hl.article_rows(gv, products, DEFAULT_ARTICLE_DROPDOWN_ROWS)
        return reply(
            control=gv,
            updates={f"{gv}_CC": rows},
            state=hl.article_state(rows.count("dxgvDataRow_XafTheme")),
            show=[f"{control}_DDD_PW-1"],
        )
    if control == grid:
        return _lines_callback(sim, visit, draft, callback, lang)
    return reply(error=f"Unknown control: {control}")


def _lines_page(
    sim: Sim, session: Session, posted: ViewState, grid: str, callback: Callback, lang: Lang
) -> web.Response | None:
    """GotoPage/NextPage on the lines grid of a saved order in view mode (None: in edit)."""
    if posted.draft_key in session.drafts:
        return None
    order = _shown_order(sim, session, posted)
    if order is None:
        return None
    page = hl.clamp_page(order, _int(callback.param.get("page")))
    html = hl.lines_inner(grid, sim.state, order, lang, page=page)
    return reply(control=grid, updates={f"{grid}_CC": html}, state=hl.grid_state(order, page))


def _shown_order(sim: Sim, session: Session, posted: ViewState) -> Order | None:
    """The order a page shows: a draft in edit mode, the saved order in view mode."""
    if posted.draft_key in session.drafts:
        return session.drafts[posted.draft_key]
    if posted.draft_key.startswith(VIEW_KEY_PREFIX):
        order = sim.state.orders.get(_int(posted.draft_key[len(VIEW_KEY_PREFIX) :]))
        return order if order is not None and order.agent == session.agent else None
    return None


def _select_customer(sim: Sim, visit: Visit, draft: Order, account: str) -> web.Response:
    customer = sim.state.agent_customer(draft.agent, account)
    if customer is None:
        return reply(error=f"Cliente '{account}' non trovato.")
    draft.customer = customer.account
    draft.customer_name = customer.name
    draft.delivery_address = ho.address_of(customer)
    ed = ho.customer_editor_name(visit)
    address = f"{visit.layout}_{ho.FIELDS['DLVADDRESS'].path}_xaf_dviDLVADDRESS_View"
    return reply(
        control=ed,
        values={f"{ed}_I": customer.name, f"{ed}_VI": customer.account},
        updates={address: draft.delivery_address},
        hide=[f"{ed}_DDD_PW-1"],
    )


def _lines_callback(
    sim: Sim, visit: Visit, draft: Order, callback: Callback, lang: Lang
) -> web.Response:
    """AddNew / StartEdit / DeleteRow / UpdateEdit / CancelEdit / PAGE on the draft's lines.

    The grid shows 20 lines a page: a line opened for editing shows on its page, a new line
    once saved on the last page (the grid pages by itself past 20 lines, DXR:246-248).
    """
    grid = ho.lines_grid_name(visit)
    command = callback.command
    row = _row_index(draft, callback.param.get("row"))
    url = None
    page = _int(callback.param.get("page"))

    def inner(**kw: Any) -> str:
        return hl.lines_inner(grid, sim.state, draft, lang, editing=True, page=page, **kw)

    if command == "StartEdit" and row is not None:
        page = hl.page_of_row(row)
    if command == "AddNew":
        html = inner(adding=True)
    elif command == "StartEdit" and row is not None:
        html = inner(edit_row=row, values=hl.edit_values(draft.lines[row]))
    elif command == "DeleteRow" and row is not None:
        del draft.lines[row]
        html = inner()
    elif command == "UpdateEdit":
        values = {
            k: str(callback.param.get(k) or "") for k in ("article", "variant", "qty", "disc")
        }
        try:
            line = _parse_line(sim, values)
        except SimValidation as exc:
            html = inner(adding=row is None, edit_row=row, values=values, error=exc.message)
            state = hl.grid_state(draft, page)
            return reply(control=grid, updates={f"{grid}_CC": html}, state=state)
        if row is None:
            draft.lines.append(line)
            page = hl.page_of_row(len(draft.lines) - 1)
        else:
            draft.lines[row] = line
        if not draft.id:
            draft.id = sim.state.allocate_order_id()
            url = urls.order_detail(draft.id)
        html = inner()
    else:
        html = inner()
    updates = {f"{grid}_CC": html}
    if draft.id:
        updates[f"{visit.layout}_{ho.FIELDS['ID'].path}_xaf_dviID_View"] = fmt_int(draft.id)
    return reply(control=grid, updates=updates, url=url, state=hl.grid_state(draft, page))


def _row_index(draft: Order, value: object) -> int | None:
    """A posted line index ("new" or out of range -> None)."""
    try:
        index = int(str(value))
    except ValueError:
        return None
    return index if 0 <= index < len(draft.lines) else None


def _number(text_value: str) -> float:
    """An invariant number from the client ("2.5"); Italian text ("2,5") is accepted too."""
    cleaned = text_value.replace("%", "").strip()
    try:
        return float(cleaned)
    except ValueError:
        return parse_decimal(cleaned)


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
        quantity = _number(values["qty"])
    except ValueError as exc:
        raise SimValidation(f"Quantità '{values['qty']}' non valida.", "quantity") from exc
    if quantity <= 0:
        raise SimValidation("La quantità deve essere maggiore di zero.", "quantity")
    discount = None
    if values["disc"].strip():
        try:
            discount = _number(values["disc"])
        except ValueError as exc:
            raise SimValidation(f"Sconto '{values['disc']}' non valido.", "discount") from exc
        if not 0 <= discount <= 100:
            raise SimValidation("Lo sconto deve essere compreso tra 0 e 100.", "discount")
        discount = discount or None
    return OrderLine(product.item_id, variant.variant_id, quantity, discount, product.price_eur)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
