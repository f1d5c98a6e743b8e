"""Markup of the order detail view (SALESTABLE_DetailViewAgent) in view and edit mode.

Ids, field names, tabs and the SALESLINEs columns follow the structure dump's
``detailViews.Order_Detail``: the layout ``Vertical_v11_{rand}_MainLayoutView`` (edit:
``Vertical_v6_{rand}_MainLayoutEdit``), the customer lookup ``…_xaf_dviCUSTTABLE_Edit``
(``_B-1``, ``_DDD_PW-1``, ``_DDD_gv_DXSE_I``), and the lines grid
``…_xaf_dviSALESLINEs_v{M}_{rand}_LE_v{M}``. Lines-grid rows and editors live in html_lines.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any

from erpsim import html_weight, urls
from erpsim.config import DEFAULT_LOOKUP_PAGE_SIZE
from erpsim.culture import Lang
from erpsim.detail_ids import Mode, Visit
from erpsim.detail_texts import text, value_text
from erpsim.fmt import fmt_datetime, fmt_decimal, fmt_int, fmt_iso_date, fmt_money
from erpsim.html_fields import Field, Kind, Widget, edit_value, layout_item, tabs, view_value
from erpsim.html_grid import GridPage, GridRow, grid_control, grid_inner, paginate
from erpsim.html_lines import lines_control
from erpsim.model import LINE_DISCOUNT_NONE, Customer, Order
from erpsim.state import SimState

VIEW_NUMBERS = {"View": (11, 12), "Edit": (6, 7)}
TABS_PATH = "xaf_l127_pg"
LINES_TABS_PATH = "xaf_l715_pg"
LINES_PATH = "xaf_l715_pg_xaf_l724"
CUSTOMER_PATH = "xaf_l127_pg_xaf_l134_xaf_l152_xaf_l168"
LOOKUP_COLUMNS = ("ACCOUNTNUM", "NAME", "VATNUM", "CITY")
#: The delivery-address lookup's columns (captions NOME, VIA, CAP, CITTÀ; FACTS §2.17): the
#: customer's own address first, then its alternative ones; field names as the ADDRESSes grid.
ADDRESS_LOOKUP_COLUMNS = ("NAME", "STREET", "LOGISTICSADDRESSZIPCODE.ZIPCODE", "CITY")


def _item(
    group: int,
    name: str,
    item: int,
    it: str,
    en: str,
    kind: Kind = "text",
    widget: Widget = "span",
    editable: bool = False,
) -> Field:
    """A field of layout group `group` at layout item `item` (ids `…_xaf_l{group}_xaf_l{item}`)."""
    return Field(name, f"{TABS_PATH}_xaf_l{group}_xaf_l{item}", (it, en), kind, widget, editable)


def _f(name: str, item: int, it: str, en: str, **kw: Any) -> Field:
    """A field of the Overview tab."""
    return _item(134, name, item, it, en, **kw)


def _p(name: str, item: int, it: str, en: str, **kw: Any) -> Field:
    """A field of the Price Discount tab."""
    return _item(300, name, item, it, en, **kw)


#: The Overview ("Panoramica") tab, in the dump's order.
OVERVIEW = (
    _f("ID", 140, "ID", "ID", kind="int"),
    _f("CUSTTABLE", 168, "Profilo cliente", "Customer profile", widget="link"),
    _f("SALESID", 170, "ID di vendita", "Sales ID"),
    _f("SALESNAME", 211, "Nome", "Name"),
    _f("ORDERDATE", 238, "Data ordine", "Order date", kind="datetime"),
    _f("SAMPLEORDER", 240, "Ordine campione", "Sample order", widget="check"),
    _f("DELIVERYDATE", 242, "Data di consegna", "Delivery date", kind="date", editable=True),
    _f("DELIVERYPOSTALADDRESS", 244, "Indirizzo di consegna", "Delivery address", widget="link"),
    _f("DELIVERYNAME", 246, "Nome di consegna", "Delivery name"),
    _f("DLVADDRESS", 248, "Indirizzo", "Address"),
    _f("PURCHORDERFORMNUM", 250, "Descrizione ordine", "Purchase order", editable=True),
    _f("CUSTOMERREF", 252, "Riferimento cliente", "Customer reference", editable=True),
    _f("BRASCRMATTENTIONTO", 254, "All'attenzione di", "Attention to"),
    _f("DLVEMAIL", 256, "E-mail consegna", "Delivery e-mail"),
    _f("SALESORIGINID", 258, "Origine", "Origin", widget="link"),
    _f("DLVMODE", 260, "Modalità di consegna", "Delivery mode", widget="link"),
    _f("VATNUM", 262, "Partita IVA", "VAT number"),
    _f("QUOTE", 264, "Preventivo", "Quote", widget="check"),
    _f("LANGUAGEID", 266, "Lingua", "Language", widget="combo"),
    _f("COMPLETEDDATE", 268, "Data completamento", "Completed date", kind="date"),
    _f("TEXTEXTERNAL", 270, "Testo esterno", "External text", widget="memo", editable=True),
    _f("TEXTINTERNAL", 272, "Testo interno", "Internal text", widget="memo", editable=True),
    _f("SALESTYPE", 274, "Tipo ordine", "Order type", widget="combo"),
    _f("SALESSTATUS", 276, "Stato", "Sales status", widget="combo"),
    _f("DOCUMENTSTATUS", 278, "Stato documento", "Document status", widget="combo"),
    _f("TRANSFERSTATUS", 280, "Stato trasferimento", "Transfer status", widget="combo"),
    _f("TRANSFERREDDATE", 282, "Data trasferimento", "Transferred date", kind="datetime"),
)
#: The "Prezzi e sconti" / "Price Discount" tab: the order's global discount (FACTS §2.16).
PRICE_DISCOUNT = (
    _p("LINEDISC", 310, "Sconto linea", "Line discount", widget="combo"),
    _p(
        "MANUALDISCOUNT", 312, "Applica sconto %", "Apply discount %", kind="percent", editable=True
    ),
    _p("ENDDISCPERCENT", 314, "Sconto totale %", "Total discount %", kind="percent"),
    _p("GROSSAMOUNT", 316, "Importo lordo", "Gross amount", kind="money"),
    _p("AMOUNTTOTAL", 318, "Totale", "Total", kind="money"),
)
DELIVERY_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
DELIVERY_TIMES = tuple(
    Field(f"BRASDLV{day}{part}", f"{TABS_PATH}_xaf_l400_xaf_l{402 + 2 * n}", (day, day))
    for n, (day, part) in enumerate((d, p) for d in DELIVERY_DAYS for p in ("FROM", "TO"))
)
FIELDS = {f.name: f for f in (*OVERVIEW, *PRICE_DISCOUNT, *DELIVERY_TIMES)}


def visit_for(mode: Mode) -> Visit:
    layout, grid = VIEW_NUMBERS[mode]
    return Visit.fresh(layout, grid, mode)


def customer_editor_name(visit: Visit) -> str:
    return f"{visit.layout}_{CUSTOMER_PATH}_xaf_dviCUSTTABLE_Edit"


def lookup_grid_name(visit: Visit) -> str:
    return f"{customer_editor_name(visit)}_DDD_gv"


def lines_grid_name(visit: Visit) -> str:
    return visit.grid(LINES_PATH, "SALESLINEs")


def address_of(customer: Customer | None) -> str:
    if customer is None:
        return ""
    return customer.address_text


def address_editor_name(visit: Visit) -> str:
    return visit.field(FIELDS["DELIVERYPOSTALADDRESS"].path, "DELIVERYPOSTALADDRESS")


def address_lookup_name(visit: Visit) -> str:
    return f"{address_editor_name(visit)}_DDD_gv"


def address_lookup_page(customer: Customer | None, search: str) -> GridPage:
    """The delivery addresses of the order's customer whose street holds `search`: its own
    (key 0) and its alternative ones (their record ids), one page."""
    if customer is None:
        return GridPage((), 0, 0, DEFAULT_LOOKUP_PAGE_SIZE, search)
    found = [("0", customer.name, customer.street, customer.zip_code, customer.city)]
    found += [(str(a.id), a.name, a.street, a.zip_code, a.city) for a in customer.addresses]
    wanted = search.strip().lower()
    rows = tuple(
        GridRow(key, (name, street, zip_code, city))
        for key, name, street, zip_code, city in found
        if wanted in street.lower()
    )
    return GridPage(rows, len(rows), 0, max(len(rows), 1), search)


def address_lookup_inner(name: str, page: GridPage) -> str:
    return grid_inner(name, ADDRESS_LOOKUP_COLUMNS, page, system_cells=False, pager=False)


def address_lookup_state(page: GridPage) -> dict[str, object]:
    return lookup_state(page, ADDRESS_LOOKUP_COLUMNS)


def address_editor(visit: Visit, state: SimState, order: Order, lang: Lang) -> str:
    """DELIVERYPOSTALADDRESS in edit mode: a lookup (`_B-1` opens `_DDD_PW-1`, search
    `_DDD_gv_DXSE_I`) whose rows take real clicks only, as the customer's (FACTS §2.17)."""
    customer = state.agent_customer(order.agent, order.customer or "")
    ed, gv = address_editor_name(visit), address_lookup_name(visit)
    page = address_lookup_page(customer, "")
    return lookup_editor(
        ed, gv, order.delivery_address or "N/A", str(order.delivery_address_id or ""),
        address_lookup_inner(gv, page), address_lookup_state(page), lang,
    )


def _iso_datetime(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch_s)) if epoch_s else ""


def _pct(value: float | None) -> tuple[str, str]:
    v = value or 0.0
    return f"{v:.2f}", f"{fmt_decimal(v)} %"


def order_values(state: SimState, order: Order, lang: Lang) -> dict[str, tuple[str, str]]:
    """FIELD -> (invariant value, Italian text) of an order."""
    customer = state.agent_customer(order.agent, order.customer or "")
    gross = order.gross_amount_eur
    values = {
        "ID": (str(order.id), fmt_int(order.id)) if order.id else ("", ""),
        "CUSTTABLE": (order.customer or "", order.customer or ""),
        "SALESID": (order.sales_id, order.sales_id),
        "SALESNAME": (order.customer_name, order.customer_name),
        "ORDERDATE": (_iso_datetime(order.created), fmt_datetime(order.created)),
        "SAMPLEORDER": ("false", ""),
        "DELIVERYDATE": (order.delivery_date, fmt_iso_date(order.delivery_date)),
        "DELIVERYPOSTALADDRESS": (order.delivery_address, order.delivery_address),
        "DELIVERYNAME": (order.customer_name, order.customer_name),
        "DLVADDRESS": (order.delivery_address, order.delivery_address),
        "PURCHORDERFORMNUM": (order.reference, order.reference),
        "CUSTOMERREF": (order.customer_ref, order.customer_ref),
        "BRASCRMATTENTIONTO": ("", ""),
        "DLVEMAIL": (customer.email if customer else "", customer.email if customer else ""),
        "SALESORIGINID": ("Agent", "Agent"),
        "DLVMODE": ("", ""),
        "VATNUM": (customer.vat_number if customer else "",) * 2,
        "QUOTE": ("false", ""),
        "LANGUAGEID": ("it", "it"),
        "COMPLETEDDATE": ("", ""),
        "TEXTEXTERNAL": (order.notes, order.notes),
        "TEXTINTERNAL": (order.internal_notes, order.internal_notes),
        "SALESTYPE": ("Giornale", value_text("Giornale", lang)),
        "SALESSTATUS": (order.status, value_text(order.status, lang)),
        "DOCUMENTSTATUS": ("Nessuno", value_text("Nessuno", lang)),
        "TRANSFERSTATUS": (order.transfer_status, value_text(order.transfer_status, lang)),
        "TRANSFERREDDATE": (_iso_datetime(order.transfer_date), fmt_datetime(order.transfer_date)),
        "LINEDISC": (order.line_discount, order.line_discount),
        "MANUALDISCOUNT": _pct(order.discount),
        "ENDDISCPERCENT": _pct(order.discount),
        "GROSSAMOUNT": (f"{gross:.2f}", fmt_money(gross)),
        "AMOUNTTOTAL": (f"{gross:.2f}", fmt_money(gross)),
    }
    for f in DELIVERY_TIMES:
        values[f.name] = ("", "")
    return values


def lookup_page(state: SimState, agent: str, search: str, page_index: int) -> GridPage:
    customers = state.search_customers(agent, search)
    visible, index = paginate(customers, page_index, DEFAULT_LOOKUP_PAGE_SIZE)
    rows = tuple(GridRow(c.account, (c.account, c.name, c.vat_number, c.city)) for c in visible)
    return GridPage(rows, len(customers), index, DEFAULT_LOOKUP_PAGE_SIZE, search)


def lookup_state(page: GridPage, columns: tuple[str, ...] = LOOKUP_COLUMNS) -> dict[str, object]:
    """A lookup grid's client state: the page's, and its columns in visible order."""
    state = dict(page.state())
    state["columns"] = [
        {"fieldName": name, "visible": True, "visibleIndex": n} for n, name in enumerate(columns)
    ]
    return state


def lookup_inner(name: str, page: GridPage) -> str:
    return grid_inner(name, LOOKUP_COLUMNS, page, system_cells=False)


def customer_editor(visit: Visit, state: SimState, draft: Order, lang: Lang) -> str:
    """The CUSTTABLE lookup: button `_B-1` opens `_DDD_PW-1` with a searchable grid."""
    page = lookup_page(state, draft.agent, "", 0)
    gv = lookup_grid_name(visit)
    return lookup_editor(
        customer_editor_name(visit), gv, draft.customer_name or "N/A", draft.customer or "",
        lookup_inner(gv, page), lookup_state(page), lang,
    )


def lookup_editor(
    ed: str, gv: str, shown: str, value: str, inner: str, state: dict[str, object], lang: Lang
) -> str:
    """A lookup editor `ed`: button `_B-1` opens `_DDD_PW-1` with the searchable grid `gv`."""
    return (
        f'<table id="{ed}" class="dxeButtonEditSys dxeButtonEdit_XafTheme" data-dx-control="{ed}" '
        'data-dx-role="lookup" data-dx-state="{}"><tbody><tr>'
        f'<td class="dxic"><input id="{ed}_I" name="{ed}_I" class="dxeEditArea_XafTheme" type="text" '
        f'readonly value="{escape(shown)}" autocomplete="off">'
        f'<input type="hidden" id="{ed}_VI" name="{ed}_VI" value="{escape(value)}"></td>'
        f'<td id="{ed}_B-1" class="dxeButton dxeButtonEditButton_XafTheme" data-dx-dropdown="{ed}">'
        f'<img id="{ed}_B-1Img" alt="v" class="dxEditors_edtDropDown_XafTheme"></td>'
        "</tr></tbody></table>"
        f'<div id="{ed}_DDD_PW-1" class="dxpcDropDown_XafTheme dxpclW" style="display:none" '
        f'data-dx-lookup="{ed}"><div id="{ed}_DDD_PWC-1" class="dxpc-content">'
        f'<div id="{gv}_DXSE" class="SearchActionContainer">'
        f'<input id="{gv}_DXSE_I" class="dxeEditArea_XafTheme" type="text" '
        f'placeholder="{escape(text("search_placeholder", lang))}" autocomplete="off" '
        f'data-dx-search="{gv}"></div>'
        f"{grid_control(gv, inner, state, 'dxgvLookup')}</div></div>"
        f'<div id="{ed}_LPV" class="dxlpLoadingPanel_XafTheme dxlpLoadingPanel" style="display:none">'
        f"{escape(text('loading', lang))}</div>"
    )


def line_discount_editor(visit: Visit, order: Order) -> str:
    """LINEDISC in edit mode: a button editor ``…_xaf_dviLINEDISC_Edit_dropdown_DD`` whose
    Clear button ``_B1`` empties the posted value (FACTS §2.15: `td[id*=LINEDISC][id$=_B1]`,
    or ``ASPx.BEClick(name, 1)``); the next save recalculates the lines."""
    ed = f"{visit.field(FIELDS['LINEDISC'].path, 'LINEDISC')}_dropdown_DD"
    value = escape(order.line_discount)
    return (
        f'<table id="{ed}" class="dxeButtonEditSys dxeButtonEdit_XafTheme"><tbody><tr>'
        f'<td class="dxic"><input id="{ed}_I" class="dxeEditArea_XafTheme" type="text" readonly '
        f'value="{value}" autocomplete="off">'
        f'<input type="hidden" id="{ed}_VI" name="{ed}_VI" value="{value}"></td>'
        f'<td id="{ed}_B1" class="dxeButton dxeButtonEditButton_XafTheme" data-dx-clear="{ed}">'
        f'<img id="{ed}_B1Img" alt="x"></td>'
        "</tr></tbody></table>"
    )


def _group(
    visit: Visit,
    fields: tuple[Field, ...],
    values: dict[str, tuple[str, str]],
    lang: Lang,
    editable: bool,
    custom: dict[str, str] | None = None,
) -> str:
    """Layout items of `fields`; `custom` replaces the editor of some fields (lookups)."""
    items = []
    for f in fields:
        ident = visit.field(f.path, f.name)
        raw, shown = values[f.name]
        caption = f.caption[0] if lang == "it" else f.caption[1]
        if custom and f.name in custom:
            editor = custom[f.name]
        elif editable and f.editable:
            editor = edit_value(ident, f, raw, shown)
        else:
            editor = view_value(f"{visit.layout}_{f.path}_xaf_dvi{f.name}_View", f, raw, shown)
        items.append(layout_item(caption, editor))
    return "".join(items)


def lines_toolbar(visit: Visit, order: Order, lang: Lang) -> str:
    """The SALESLINEs grid's own toolbar (dump ``xaf_dviSALESLINEs_ToolBar_Menu_DXI0..2``):
    DXI1 exports the lines grid to PDF (BOT:11241-11256) — a GET of ``Salesline_{id}.pdf``."""
    if not order.id:
        return ""
    menu = f"{visit.layout}_{LINES_PATH}_xaf_dviSALESLINEs_ToolBar_Menu"
    export = f"{urls.SALESLINES_PDF}?order={order.id}"
    title = escape(text("export_lines_pdf", lang))
    refresh = escape(text("refresh", lang))
    return (
        f'<div id="{menu[:-5]}" class="dxm-main dxm-horizontal"><ul id="{menu}" class="dx">'
        f'<li id="{menu}_DXI0_" class="dxm-item" title="{refresh}">'
        f'<a id="{menu}_DXI0_T" class="dxm-content" data-menu-cmd="Reload">'
        f'<img id="{menu}_DXI0_Img" alt=""><span class="dx-vam">{refresh}</span></a></li>'
        f'<li id="{menu}_DXI1_IS" class="dxm-spacing"></li>'
        f'<li id="{menu}_DXI1_" class="dxm-item" title="{title}">'
        f'<a id="{menu}_DXI1_T" class="dxm-content" data-menu-cmd="ExportPdf" '
        f'data-href="{escape(export)}"><span class="dx-vam">{title}</span></a></li>'
        "</ul></div>"
    )


def detail_body(
    visit: Visit,
    state: SimState,
    order: Order,
    lang: Lang,
    *,
    posted: dict[str, str] | None = None,
    weight: int = html_weight.DEFAULT_ORDER_VIEW_ELEMENTS,
    saved: bool = True,
) -> str:
    """The whole detail view: header tabs, the SALESLINEs tab, and the view's furniture.

    `saved`: the edit form was opened from the stored order (after a "Salvare" or by
    Modifica) — a new order's form shows LINEDISC "N/A" without its Clear button until it
    has been saved once (FACTS §2.15, c:916615f7)."""
    editing = visit.mode == "Edit"
    values = order_values(state, order, lang)
    for name, value in (posted or {}).items():
        if name in values:
            values[name] = (values[name][0], value)
    custom = None
    if editing:
        custom = {
            "CUSTTABLE": customer_editor(visit, state, order, lang),
            "DELIVERYPOSTALADDRESS": address_editor(visit, state, order, lang),
        }
        if saved:
            custom["LINEDISC"] = line_discount_editor(visit, order)
        else:
            values["LINEDISC"] = ("", LINE_DISCOUNT_NONE)
    overview = _group(visit, OVERVIEW, values, lang, editing, custom)
    header = tabs(
        f"{visit.layout}_{TABS_PATH}",
        [
            text("tab_overview", lang),
            text("tab_order_delivery_times", lang),
            text("tab_price_discount", lang),
        ],
        [
            overview,
            _group(visit, DELIVERY_TIMES, values, lang, editing),
            _group(visit, PRICE_DISCOUNT, values, lang, editing, custom),
        ],
    )
    grid = lines_grid_name(visit)
    lines = tabs(
        f"{visit.layout}_{LINES_TABS_PATH}",
        [text("tab_saleslines", lang), text("tab_packing_history", lang)],
        [lines_toolbar(visit, order, lang) + lines_control(grid, state, order, lang, editing=editing), ""],
    )
    body = f'<div id="{visit.layout}" class="Layout">{header}{lines}</div>'
    return body + html_weight.ballast(visit.layout, weight, html_weight.element_count(body))
