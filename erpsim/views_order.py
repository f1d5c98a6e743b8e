"""The order detail view: new order flow, line callbacks, save, and view mode."""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
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
from erpsim.model import (
    LINE_DISCOUNT_NONE,
    STREET_PRICE_DISCOUNT,
    STREET_PRICE_LINE_PERCENT,
    Order,
    OrderLine,
)
from erpsim.sessions import Session
from erpsim.sim import Sim, session_of, sim_of
from erpsim.viewstate import ViewState, decode
from erpsim.writes import commit_write

MAX_DRAFTS_PER_SESSION = 8
#: The view state of a saved order in view mode carries its id behind this prefix.
VIEW_KEY_PREFIX = "order:"
#: How long AddNewRow busy-loops on a grid left editing (fault `stuck_edit_rate`): the page's
#: JavaScript is frozen meanwhile, and CDP gets no answer from it (FACTS §11: the original
#: bot raced it 5-12 s, then reloaded with 90 s to spare).
DEFAULT_STUCK_FREEZE_MS = 20_000


@dataclass
class OrderForm:
    """An open order form beyond its draft: what XAF's ObjectSpace would undo on a rollback.

    Every line the form saves is committed in the ERP at once (FACTS §2.11): a new order
    exists from its first line, an edited order holds each changed line from its UpdateEdit.
    `origin` is the saved order as the form opened it (None: a new order); `adding` is true
    while a new row is open in edit mode — a plain "Salvare" then rolls everything back.
    """

    origin: Order | None
    adding: bool = False


def _form(session: Session, key: str) -> OrderForm:
    form = session.forms.get(key)
    if not isinstance(form, OrderForm):
        form = session.forms[key] = OrderForm(origin=None)
    return form


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
    # Any agent's order opens by its id, in view and in edit mode, as on the live ERP (FACTS
    # §13: detail views are reachable across agents); only the lists are the agent's own.
    order = sim.state.orders.get(int(order_id))
    if request.query.get("mode", "").lower() == "edit":
        if order is None:
            return _not_found(sim, session, lang)
        try:
            sim.state.editable_order(order.agent, order.id)
        except SimValidation as exc:
            return _view_page(sim, session, order, exc.message, lang)
        return _edit_page(sim, session, _edit_draft(session, order), "", {}, lang)
    draft_key = _draft_key_for(session, int(order_id))
    if draft_key is not None and _form(session, draft_key).origin is None and order is not None:
        # A new order being entered (its URL carries the id after the first line, and the
        # ERP holds it from then on): a reload resumes its form, no row open. An edit of a
        # saved order opens in view mode, as in XAF: it is not resumed by a GET.
        _form(session, draft_key).adding = False
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
        _drop_draft(session, key)
    key = _new_draft(session)
    session.drafts[key] = copy.deepcopy(order)
    session.forms[key] = OrderForm(origin=copy.deepcopy(order))
    return key


def _new_draft(session: Session) -> str:
    while len(session.drafts) >= MAX_DRAFTS_PER_SESSION:
        _drop_draft(session, next(iter(session.drafts)))
    key = secrets.token_hex(8)
    session.drafts[key] = Order(id=0, agent=session.agent, customer=None)
    session.forms[key] = OrderForm(origin=None)
    return key


def _drop_draft(session: Session, key: str) -> None:
    session.drafts.pop(key, None)
    session.forms.pop(key, None)


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
        saved=_form(session, key).origin is not None,
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
        _drop_draft(session, key)
        raise web.HTTPFound(urls.ORDERS)
    order_form = _form(session, key)
    if argument == "Save" and order_form.adding:
        return _roll_back(sim, session, key, draft, order_form)
    posted = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    editing = order_form.origin is not None

    def commit() -> None:
        # A plain save puts the global discount back as stored (FACTS §2.16): only the
        # last write before "Salva e chiudi" keeps one.
        _apply_header(draft, posted, discount=argument != "Save")
        _apply_line_discount(draft, posted)
        saved = copy.deepcopy(draft)
        if argument != "Save" and len(saved.lines) > 1 and sim.engine.drop_line_on_save():
            saved.lines.pop()
        sim.state.commit_order(saved, editing=editing)
        _drop_draft(session, key)
        sim.counters.orders_saved += 1

    try:
        # The record is the order's reference: where the bot writes its operation's marker.
        commit_write(sim, "order_edit" if editing else "order_save", commit,
                     agent=session.agent, peer=request.remote, record=lambda _: draft.reference)
    except SimValidation as exc:
        shown = {f: posted_field(posted, f) or "" for f in ho.FIELDS if ho.FIELDS[f].editable}
        return _edit_page(sim, session, key, exc.message, shown, lang)
    if argument == "SaveAndClose":
        raise web.HTTPFound(urls.ORDERS)
    if argument == "SaveAndNew":
        raise web.HTTPFound(urls.NEW_ORDER)
    # "Salvare" stays on the object in edit mode, re-rendered from what was stored (its
    # first tab shown again, FACTS §2.15).
    raise web.HTTPFound(urls.order_detail(draft.id) + "?mode=Edit")


def _raw(posted: dict[str, str], field: str) -> str:
    """A field's invariant value: the editor's `_Raw` input, else its text."""
    for name, value in posted.items():
        if name.endswith(f"xaf_dvi{field}_Edit_Raw") and value.strip():
            return value.strip()
    return (posted_field(posted, field) or "").strip()


def _roll_back(
    sim: Sim, session: Session, key: str, draft: Order, order_form: OrderForm
) -> web.Response:
    """Plain "Salvare" with a new row open: XAF rolls the ObjectSpace back and the page dies
    (FACTS §2, c:1b222cde) — the order and the lines this form committed are gone."""
    if draft.id:
        sim.state.roll_back_order(draft.id, order_form.origin)
    _drop_draft(session, key)
    sim.counters.server_errors += 1
    return web.Response(text=server_error_page(), content_type="text/html", status=500)


def _apply_header(draft: Order, posted: dict[str, str], *, discount: bool = True) -> None:
    _apply_texts(draft, posted)
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
    if not discount:
        return
    text_value = _raw(posted, "MANUALDISCOUNT").replace("%", "").strip()
    try:
        value = float(text_value) if text_value else 0.0
    except ValueError:
        try:
            value = parse_decimal(text_value)
        except ValueError as exc:
            raise SimValidation(
                f"Data Validation Error: '{text_value}' is not a valid number (MANUALDISCOUNT)."
            ) from exc
    draft.discount = value or None


def line_percent_of(draft: Order) -> float:
    """LINEPERCENT a new line of this order gets from its LINEDISC (FACTS §2.15, §11)."""
    return STREET_PRICE_LINE_PERCENT if draft.line_discount == STREET_PRICE_DISCOUNT else 0.0


def _apply_line_discount(draft: Order, posted: dict[str, str]) -> None:
    """A save with LINEDISC cleared (its Clear button `_B1`) recalculates the lines' LINEPERCENT
    — as the live ERP does it, in rounds (FACTS §2.15; c:916615f7, c:969f3d65): the first
    such save resets only the first line still discounted, a later one all the others. The
    order's LINEDISC turns "N/A" once no line keeps the group's discount; until then the
    form shows the group again, Clear button and all."""
    cleared = next(
        (v for k, v in posted.items() if k.endswith("xaf_dviLINEDISC_Edit_dropdown_DD_VI")), None
    )
    if cleared is None or cleared.strip() or draft.line_discount == LINE_DISCOUNT_NONE:
        return
    discounted = [line for line in draft.lines if line.line_percent]
    draft.line_discount_clears += 1
    for line in discounted[:1] if draft.line_discount_clears == 1 else discounted:
        line.line_percent = 0.0
    if not any(line.line_percent for line in draft.lines):
        draft.line_discount = LINE_DISCOUNT_NONE


def _apply_texts(draft: Order, posted: dict[str, str]) -> None:
    """The form's text fields as posted (a save, or a callback that posts the form)."""
    if posted_field(posted, "PURCHORDERFORMNUM") is None:
        return  # not posted (an old client): keep what the draft holds
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
    key, draft = found
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
    if control == ho.address_lookup_name(visit):
        customer = sim.state.agent_customer(draft.agent, draft.customer or "")
        addresses = ho.address_lookup_page(customer, str(param.get("search") or ""))
        return reply(
            control=control,
            updates={f"{control}_CC": ho.address_lookup_inner(control, addresses)},
            state=ho.address_lookup_state(addresses),
        )
    if control == ho.address_editor_name(visit):
        return _select_address(sim, visit, draft, str(param.get("key") or ""))
    article_editor = control.startswith(grid) and control.endswith("_xaf_dviINVENTTABLE_Edit")
    if article_editor and callback.command == "VARIANT":
        return _variant_picked(
            sim, control, str(param.get("article") or ""), str(param.get("variant") or "")
        )
    if article_editor:
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
        form_fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        return _lines_callback(sim, session, key, visit, callback, form_fields, lang)
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
def _variant_picked(sim: Sim, editor: str, article: str, variant_id: str) -> web.Response:
    """The variant pick's callback pre-fills the row's quantity with the package content: a
    quantity typed before this answer lands is overwritten (FACTS §2.9)."""
    product = sim.state.products_by_id.get(article.strip())
    variant = (
        next((v for v in product.variants if v.variant_id == variant_id), None) if product else None
    )
    if variant is None:
        return reply(control=editor)
    qty = editor[: -len("INVENTTABLE_Edit")] + "QTYORDERED_Edit"
    content = str(variant.package_content)
    return reply(control=editor, values={f"{qty}_I": content, f"{qty}_Raw": content})


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
    # The order takes the customer's LINEDISC: its new lines get that group's LINEPERCENT.
    draft.line_discount = customer.line_discount
    draft.delivery_address = ho.address_of(customer)
    ed = ho.customer_editor_name(visit)
    address = f"{visit.layout}_{ho.FIELDS['DLVADDRESS'].path}_xaf_dviDLVADDRESS_View"
    return reply(
        control=ed,
        values={f"{ed}_I": customer.name, f"{ed}_VI": customer.account},
        updates={address: draft.delivery_address},
        hide=[f"{ed}_DDD_PW-1"],
    )


def _select_address(sim: Sim, visit: Visit, draft: Order, key: str) -> web.Response:
    """A row of the DELIVERYPOSTALADDRESS lookup picked: the order's delivery address until
    the next line callback puts the customer's default back (FACTS §2.17, BOT:4111-4113)."""
    customer = sim.state.agent_customer(draft.agent, draft.customer or "")
    address_id = _int(key)
    text_value = None if customer is None else customer.delivery_text(address_id)
    if text_value is None:
        return reply(error=f"Indirizzo '{key}' non trovato.")
    draft.delivery_address_id, draft.delivery_address = address_id, text_value
    ed = ho.address_editor_name(visit)
    address = f"{visit.layout}_{ho.FIELDS['DLVADDRESS'].path}_xaf_dviDLVADDRESS_View"
    return reply(
        control=ed,
        values={f"{ed}_I": text_value, f"{ed}_VI": key},
        updates={address: text_value},
        hide=[f"{ed}_DDD_PW-1"],
    )


def _lines_callback(
    sim: Sim,
    session: Session,
    key: str,
    visit: Visit,
    callback: Callback,
    posted: dict[str, str],
    lang: Lang,
) -> web.Response:
    """AddNew / StartEdit / DeleteRow / UpdateEdit / CancelEdit / PAGE on the draft's lines.

    UpdateEdit and DeleteRow commit at once (FACTS §2.11): the order, with the header fields
    the callback posted, is in the ERP from its first line. A line callback puts back the
    customer's default delivery address and the stored global discount (FACTS §2.16-17).
    The grid shows 20 lines a page: a line opened for editing shows on its page, a new line
    once saved on the last page (the grid pages by itself past 20 lines, DXR:246-248).
    """
    draft = session.drafts[key]
    order_form = _form(session, key)
    grid = ho.lines_grid_name(visit)
    command = callback.command
    row = _row_index(draft, callback.param.get("row"))
    url = None
    page = _int(callback.param.get("page"))
    values: dict[str, str] = {}
    stuck = False

    def inner(**kw: Any) -> str:
        return hl.lines_inner(grid, sim.state, draft, lang, editing=True, page=page, **kw)

    if command == "StartEdit" and row is not None:
        page = hl.page_of_row(row)
    if command == "AddNew":
        order_form.adding = True
        html = inner(adding=True)
    elif command == "StartEdit" and row is not None:
        html = inner(edit_row=row, values=hl.edit_values(draft.lines[row]))
    elif command in ("DeleteRow", "UpdateEdit"):
        values = {
            k: str(callback.param.get(k) or "") for k in ("article", "variant", "qty", "disc")
        }
        before = copy.deepcopy(draft.lines)
        try:
            if command == "DeleteRow":
                if row is not None:
                    del draft.lines[row]
            else:
                line = _parse_line(sim, values)
                if row is None:
                    line.line_percent = line_percent_of(draft)
                    draft.lines.append(line)
                else:
                    line.line_percent = draft.lines[row].line_percent
                    draft.lines[row] = line
            had_id = bool(draft.id)
            _commit_lines(sim, draft, order_form, posted)
            url = None if had_id else urls.order_detail(draft.id)
        except SimValidation as exc:
            draft.lines = before
            adding = command == "UpdateEdit" and row is None
            edit_row = row if command == "UpdateEdit" else None
            html = inner(adding=adding, edit_row=edit_row, values=values, error=exc.message)
            state = hl.grid_state(draft, page)
            return reply(control=grid, updates={f"{grid}_CC": html}, state=state)
        if command == "UpdateEdit" and row is None:
            page = hl.page_of_row(len(draft.lines) - 1)
        page = hl.clamp_page(draft, page)
        stuck = command == "UpdateEdit" and sim.engine.stuck_edit()
        if stuck:
            # Committed, yet the grid stays editing with the row still open (FACTS §9).
            html = inner(adding=row is None, edit_row=row, values=values)
        else:
            if row is None and command == "UpdateEdit":
                order_form.adding = False
            html = inner()
    else:
        if command == "CancelEdit":
            order_form.adding = False
        html = inner()
    updates = {f"{grid}_CC": html}
    if draft.id:
        updates[f"{visit.layout}_{ho.FIELDS['ID'].path}_xaf_dviID_View"] = fmt_int(draft.id)
    if command in ("DeleteRow", "UpdateEdit"):
        address = f"{visit.layout}_{ho.FIELDS['DLVADDRESS'].path}_xaf_dviDLVADDRESS_View"
        updates[address] = draft.delivery_address
    state = hl.grid_state(draft, page)
    if stuck:
        state["stuck_ms"] = DEFAULT_STUCK_FREEZE_MS
    return reply(
        control=grid,
        updates=updates,
        values=_reset_editors(visit, draft) if command in ("DeleteRow", "UpdateEdit") else None,
        url=url,
        state=state,
    )


def _commit_lines(sim: Sim, draft: Order, order_form: OrderForm, posted: dict[str, str]) -> None:
    """Store the order as the form holds it now (a line was saved or deleted)."""
    if draft.customer is None:
        raise SimValidation("Il campo 'Cliente' deve essere compilato con un cliente valido.")
    _apply_texts(draft, posted)
    delivery = _raw(posted, "DELIVERYDATE")
    try:
        if "-" in delivery:
            draft.delivery_date = date.fromisoformat(delivery[:10]).isoformat()
        elif delivery:
            draft.delivery_date = parse_it_date(delivery)
    except ValueError:
        pass  # a half-typed date: the save validates it
    if not draft.id:
        draft.id = sim.state.allocate_order_id()
    # A line callback resets the server's ObjectSpace to the customer's default address.
    draft.delivery_address_id = 0
    stored = sim.state.commit_order(
        copy.deepcopy(draft), editing=order_form.origin is not None, allow_empty=True
    )
    draft.created = stored.created
    draft.customer_name = stored.customer_name
    draft.delivery_address = stored.delivery_address
    sim.counters.writes["order_line"] += 1


def _reset_editors(visit: Visit, draft: Order) -> dict[str, str] | None:
    """What a line callback puts back (FACTS §2.16-17): the global discount editor to the
    stored value, the delivery address to the customer's default."""
    if visit.mode != "Edit":
        return None
    ident = visit.field(ho.FIELDS["MANUALDISCOUNT"].path, "MANUALDISCOUNT")
    raw = f"{draft.discount or 0.0:.2f}"
    address = ho.address_editor_name(visit)
    return {
        f"{ident}_I": raw,
        f"{ident}_Raw": raw,
        f"{address}_I": draft.delivery_address,
        f"{address}_VI": "",
    }


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
