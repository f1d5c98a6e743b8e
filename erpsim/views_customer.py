"""The customer detail view: new customer (VAT check callback), edit, view and save."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from erpsim import find_popup, urls
from erpsim import html_customer as hc
from erpsim.callbacks import Callback, reply
from erpsim.culture import Lang
from erpsim.detail_ids import Visit, new_rand, posted_field
from erpsim.detail_texts import request_lang, text
from erpsim.errors import SimValidation
from erpsim.html_layout import ToolItem, page, server_error_page
from erpsim.html_layout import edit_tools as layout_edit_tools
from erpsim.model import Customer
from erpsim.registry import registry_lookup
from erpsim.sessions import Session
from erpsim.sim import Sim, session_of, sim_of
from erpsim.state import (
    CUSTOMER_FIELDS,
    CustomerConflict,
    CustomerWarnings,
    customer_field_values,
    customer_version,
    duplicate_vat_message,
)
from erpsim.viewstate import ViewState, decode
from erpsim.writes import commit_write

#: NAMEALIAS holds about 20 characters (FACTS §6).
NAME_ALIAS_LENGTH = 20
PAGE_NEW = "CustNew"
PAGE_EDIT = "CustEdit"
#: Where the real ERP sends the edit of a record that cannot be edited (FACTS §7).
ERROR_PAGE = urls.BASE + "Error.aspx"
#: Session form keys of the FindPopups a lookup button opened (ActionID -> FIELD).
FIND_ACTION_PREFIX = "find:"
#: The ignore-warnings box of the validation banner, as posted.
IGNORE_WARNINGS_INPUT = "Vertical$ErrorInfo$Ch"


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
    raw_id = request.match_info.get("customer_id", "")
    if callback is not None:
        if hc.is_alt_addresses_panel(callback.control) or hc.is_address_grid(callback.control):
            shown = sim.state.customers_by_id.get(int(raw_id)) if raw_id else None
            return await _addresses_callback(sim, callback, shown, lang)
        return _callback(sim, session, callback)
    if request.method == "POST":
        return await _save(sim, session, request, lang)
    if not raw_id:
        if request.query.get("NewObject", "").lower() != "true":
            raise web.HTTPFound(urls.CUSTOMERS)
        return _edit_page(sim, session, None, "", {}, lang)
    customer = sim.state.customers_by_id.get(int(raw_id))
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
        if not customer.editable:
            raise web.HTTPFound(ERROR_PAGE)
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
    *,
    warnings: bool = False,
    version: str | None = None,
    conflict: bool = False,
    original: dict[str, str] | None = None,
) -> web.Response:
    """The form; an existing customer's keeps its version and shown values for the save.

    `version` (default: the record's own) is what a re-rendered page keeps: after a conflict
    the old one, so saving again brings the "changed by another user" popup back; so does
    `original`, the values the first edit page showed.
    """
    if customer is None:
        view_state = ViewState(page=PAGE_NEW)
        original = None
    else:
        kept = customer_version(customer) if version is None else version
        view_state = ViewState(page=PAGE_EDIT, draft_key=f"{customer.id}:{kept}")
        original = customer_field_values(customer) if original is None else original
    title = (
        text("new_customer", lang)
        if customer is None
        else f"{text('customer', lang)} {customer.account}"
    )
    conflict_view = urls.customer_detail(customer.id) if conflict and customer else ""
    extras = hc.save_extras(
        lang, warnings=warnings, conflict_view=conflict_view, original=original
    )
    body = hc.detail_body(hc.visit_for("Edit"), customer, values, lang, extras)
    return _page(sim, session, title, body, view_state, edit_tools(lang), banner=banner, lang=lang)


async def _addresses_callback(
    sim: Sim, callback: Callback, customer: Customer | None, lang: Lang
) -> web.Response:
    """The "Indirizzo alt." panel's late rendering (LOAD), and its grid's PAGE / ROWVALUES.

    A new customer's form shows an empty grid: addresses come only after the first save
    (FACTS §6).
    """
    control = callback.control
    if hc.is_alt_addresses_panel(control):
        await asyncio.sleep(hc.ALT_ADDRESSES_RENDER_MS / 1000.0 / sim.faults.speed)
        grid = hc.address_grid(hc.address_grid_name(control), customer, lang)
        return reply(control=control, updates={control: grid})
    page_index = _page_param(callback.param.get("page"))
    if callback.command == "ROWVALUES":
        fields = [str(f) for f in callback.param.get("fields") or []]
        return reply(
            control=control, rowValues=hc.address_row_values(customer, fields, page_index)
        )
    if callback.command in ("PAGE", "REFRESH"):
        return reply(
            control=control,
            updates={f"{control}_CC": hc.address_grid_inner(control, customer, lang, page_index)},
            state=hc.address_grid_state(customer, page_index),
        )
    return reply(error=f"Unknown command {callback.command!r} of {control}")


def _page_param(raw: Any) -> int:
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return 0


def _callback(sim: Sim, session: Session, callback: Callback) -> web.Response:
    """The editors' server checks: VATNUM (fills the form), FISCALCODE and SDI (FACTS §6)."""
    visit = Visit.parse(callback.control)
    if visit is None:
        return reply(error=f"Unknown control: {callback.control}")
    value = str(callback.param.get("value") or "").strip()
    retyped = hc.rerendered_editor_field(callback.control)
    if retyped is not None:
        # The editor comes back from the server holding what it had when the callback left.
        html = hc.rerendered_editor(visit, retyped, str(callback.param.get("value") or ""))
        return reply(control=callback.control, updates={f"{callback.control}_RR": html})
    lookup = hc.find_editor_field(callback.control)
    if lookup is not None:
        if callback.command == "PICKED":
            return reply(control=callback.control)
        return _open_find_popup(session, lookup)
    checked = hc.checked_editor_field(callback.control)
    if checked is not None:
        if not value:
            # Leaving FISCALCODE or SDI blank resets both.
            blank = {hc.input_id(visit, f): "" for f in hc.CHECKED_EDITORS}
            return reply(control=callback.control, values=blank)
        if checked == "FISCALCODE":
            # The fiscal code check writes the code into NAMEALIAS.
            return reply(control=callback.control, values={hc.input_id(visit, "NAMEALIAS"): value})
        return reply(control=callback.control)
    if not hc.is_vat_editor(callback.control):
        return reply(error=f"Unknown control: {callback.control}")
    return _vat_check(sim, session, visit, callback.control, value)


def _open_find_popup(session: Session, field: str) -> web.Response:
    """The lookup's button: the popup window opens with the FindPopup page in its iframe."""
    action = str(new_rand())
    session.forms[f"{FIND_ACTION_PREFIX}{action}"] = field
    src = f"{urls.DEFAULT}?FindPopup=true&ActionID={action}"
    return reply(
        updates={find_popup.POPUP_CONTENT: find_popup.iframe(src)},
        show=[find_popup.POPUP_WINDOW],
    )


def _vat_check(sim: Sim, session: Session, visit: Visit, control: str, vat: str) -> web.Response:
    """The VAT check: a used VAT is cleared with a message; else the public registry's data
    fill the form (overwriting CAP and NAMEALIAS too) and VATLASTCHECKEDDATE/VALIEDE/ADDRESS."""
    owner = sim.state.vat_owner(vat)
    if owner is not None:
        return reply(
            control=control,
            values={hc.input_id(visit, "VATNUM"): ""},
            error=duplicate_vat_message(owner),
        )
    found = registry_lookup(vat) or {}
    address = (
        f"{found['STREET']}, {found['LOGISTICSADDRESSZIPCODE']} {found['CITY']}" if found else ""
    )
    check = sim.state.record_vat_check(session.agent, vat, bool(found), address)
    values = {
        hc.input_id(visit, field): value
        for field, value in found.items()
        if field != "LOGISTICSADDRESSZIPCODE"
    }
    if found:
        values[hc.input_id(visit, "NAMEALIAS")] = found["NAME"][:NAME_ALIAS_LENGTH]
        # The registry's CAP becomes the lookup's choice (FACTS §6: the check overwrites CAP).
        zip_code = found["LOGISTICSADDRESSZIPCODE"]
        rows = find_popup.zip_rows(zip_code)
        values[hc.find_text_input(visit, "LOGISTICSADDRESSZIPCODE")] = zip_code
        key = find_popup.zip_key(rows[0]) if rows else ""
        values[hc.find_key_input(visit, "LOGISTICSADDRESSZIPCODE")] = key
    valid = hc.check_cell("Sì" if check.valid else "No")
    updates = {
        hc.view_id(visit, "VATLASTCHECKEDDATE"): check.checked,
        hc.view_id(visit, "VATVALIEDE"): valid,
        hc.view_id(visit, "VATADDRESS"): check.address,
    }
    return reply(control=control, values=values, updates=updates)


async def _save(sim: Sim, session: Session, request: web.Request, lang: Lang) -> web.StreamResponse:
    form: Any = request["form"]
    posted = decode(
        form.get("__VIEWSTATE"), form.get("__VIEWSTATEGENERATOR"), form.get("__EVENTVALIDATION")
    )
    if posted is None or posted.page not in (PAGE_NEW, PAGE_EDIT):
        sim.counters.server_errors += 1
        return web.Response(text=server_error_page(), content_type="text/html", status=500)
    customer_id, version = None, None
    if posted.page == PAGE_EDIT:
        raw_id, _, version = posted.draft_key.partition(":")
        customer_id = int(raw_id)
    existing = (
        None if customer_id is None else sim.state.customers_by_id.get(customer_id)
    )
    argument = str(form.get("__EVENTARGUMENT") or "")
    if argument not in ("Save", "SaveAndNew", "SaveAndClose", "Merge"):
        raise web.HTTPFound(urls.CUSTOMERS)
    strings = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    values = {field: posted_field(strings, field) or "" for field in CUSTOMER_FIELDS}
    choices = {
        field: _posted_suffix(strings, f"xaf_dvi{field}_Edit_dropdown_DD_I")
        for field in ("LINEDISC", *hc.COMBO_ITEMS)
    }
    for field in hc.FIND_FIELDS:
        values[field] = _posted_suffix(strings, f"xaf_dvi{field}_Edit_find_Edit_VI")
    shown = {**values, **{f: v for f, v in choices.items() if v}}
    for field in hc.FIND_FIELDS:
        # A re-rendered form shows the choice (the CAP, the term's code) and keeps its key.
        shown[f"{field}#key"] = values[field]
        shown[field] = values[field].partition("|")[0]
    try:
        original = json.loads(strings[hc.ORIGINAL_INPUT]) if hc.ORIGINAL_INPUT in strings else None
    except ValueError:
        original = None
    try:
        saved = commit_write(
            sim,
            "customer_update" if customer_id is not None else "customer_create",
            lambda: sim.state.save_customer(
                session.agent,
                customer_id,
                {**values, **choices},
                check_warnings=not strings.get(IGNORE_WARNINGS_INPUT),
                version=version,
                original=original if argument == "Merge" else None,
                lang=lang,
            ),
            agent=session.agent,
            peer=request.remote,
            record=lambda _: "new" if customer_id is None else str(customer_id),
        )
    except CustomerConflict:
        return _edit_page(
            sim, session, existing, "", shown, lang, version=version, conflict=True,
            original=original,
        )
    except CustomerWarnings as exc:
        return _edit_page(
            sim, session, existing, exc.message, shown, lang, warnings=True, version=version,
            original=original,
        )
    except SimValidation as exc:
        return _edit_page(
            sim, session, existing, exc.message, shown, lang, version=version, original=original
        )
    if argument == "SaveAndClose":
        raise web.HTTPFound(urls.CUSTOMERS)
    if argument == "SaveAndNew":
        raise web.HTTPFound(urls.NEW_CUSTOMER)
    raise web.HTTPFound(urls.customer_detail(saved.id))


def _posted_suffix(form: dict[str, str], suffix: str) -> str:
    """The posted value of the input whose name ends with `suffix` ("" when not posted)."""
    return next((v for k, v in form.items() if k.endswith(suffix)), "").strip()


async def error_page(request: web.Request) -> web.StreamResponse:
    """Error.aspx: what the ERP shows for the edit of a record that cannot be edited."""
    lang = request_lang(request)
    html = (
        "<!DOCTYPE html><html><head><title>Error - Archibald</title></head><body>"
        f'<div id="ErrorPage" class="ErrorPage"><h1>Error</h1>'
        f'<p id="ErrorMessage">{hc.t("cannot_edit", lang)}</p></div></body></html>'
    )
    return web.Response(text=html, content_type="text/html")


async def admin_customer(request: web.Request) -> web.Response:
    """POST /__sim/customers/{id}: another user changes a customer behind the agent's back.

    Body: {"fields": {FIELD: text}, "editable": bool, "addresses": [{id?, type, name, street,
    zip, city, county, state, country, district}], "blocked": "No"|"Fattura:"|"Completo"}
    (all optional); an address without "id" gets the next free one.
    """
    sim = sim_of(request)
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"invalid JSON: {exc}") from exc
    fields = body.get("fields") or {}
    editable = body.get("editable")
    addresses = body.get("addresses")
    blocked = body.get("blocked")
    customer_id = int(request.match_info["customer_id"])
    try:
        if addresses is not None or blocked is not None:
            if addresses is not None and not (
                isinstance(addresses, list) and all(isinstance(a, dict) for a in addresses)
            ):
                raise SimValidation("addresses must be a list of objects")
            sim.state.set_customer_addresses(
                customer_id, addresses, None if blocked is None else str(blocked)
            )
        customer = sim.state.change_customer(
            customer_id,
            {str(k): str(v) for k, v in fields.items()},
            None if editable is None else bool(editable),
        )
    except SimValidation as exc:
        return web.json_response({"error": exc.message}, status=400)
    except (KeyError, TypeError, ValueError) as exc:
        return web.json_response({"error": f"invalid address: {exc!r}"}, status=400)
    return web.json_response(customer.to_json())
