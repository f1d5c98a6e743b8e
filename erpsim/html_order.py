"""Markup of the order detail view: customer lookup, header fields and the lines grid."""

from __future__ import annotations

from html import escape

from erpsim.config import DEFAULT_LOOKUP_PAGE_SIZE
from erpsim.fmt import fmt_datetime, fmt_int, fmt_iso_date, fmt_money, fmt_quantity
from erpsim.html_grid import (
    GridPage,
    GridRow,
    columns_state,
    grid_control,
    grid_inner,
    list_columns,
    paginate,
)
from erpsim.model import Customer, Order, OrderLine, Product
from erpsim.state import SimState

LAYOUT = "Vertical_v5_MainLayoutEdit"
CUSTOMER_EDITOR = f"{LAYOUT}_xaf_l12_xaf_dviCUSTACCOUNT_Edit_dropdown_DD"
LOOKUP_GRID = f"{CUSTOMER_EDITOR}_DDD_gv"
LINES_GRID = f"{LAYOUT}_xaf_l40_xaf_dviSALESLINEs_v6_LE_v7"
ARTICLE_EDITOR = f"{LINES_GRID}_editnew_xaf_dviINVENTTABLE_Edit_dropdown_DD"
ERROR_ROW = f"{LINES_GRID}_DXEditingErrorRow"
ADDRESS_VIEW = f"{LAYOUT}_xaf_l14_xaf_dviDLVADDRESS_View"
ORDER_ID_VIEW = f"{LAYOUT}_xaf_l10_xaf_dviID_View"

#: Editable header fields: FIELD -> (layout item, Italian label).
HEADER_FIELDS = {
    "DELIVERYDATE": ("l16", "Data di consegna"),
    "CUSTOMERREF": ("l18", "Riferimento cliente"),
    "PURCHORDERFORMNUM": ("l20", "N. ordine d'acquisto"),
    "DISCPERCENT": ("l22", "Sconto %"),
    "NOTES": ("l24", "Note"),
}
LINE_COLUMNS = ("ITEMID", "INVENTDIMID", "NAME", "SALESQTY", "PACKAGE", "LINEDISC", "LINEAMOUNT")
LOOKUP_COLUMNS = ("ACCOUNTNUM", "NAME", "VATNUM", "CITY")


def field_input_id(field: str) -> str:
    return f"{LAYOUT}_xaf_{HEADER_FIELDS[field][0]}_xaf_dvi{field}_Edit_I"


def field_view_id(field: str) -> str:
    item = HEADER_FIELDS[field][0] if field in HEADER_FIELDS else "l30"
    return f"{LAYOUT}_xaf_{item}_xaf_dvi{field}_View"


def lookup_page(state: SimState, agent: str, search: str, page_index: int) -> GridPage:
    customers = state.search_customers(agent, search)
    visible, index = paginate(customers, page_index, DEFAULT_LOOKUP_PAGE_SIZE)
    rows = tuple(_lookup_row(c) for c in visible)
    return GridPage(rows, len(customers), index, DEFAULT_LOOKUP_PAGE_SIZE, search)


def _lookup_row(customer: Customer) -> GridRow:
    return GridRow(
        customer.account, (customer.account, customer.name, customer.vat_number, customer.city)
    )


def lookup_inner(page: GridPage) -> str:
    return grid_inner(LOOKUP_GRID, LOOKUP_COLUMNS, page, system_cells=False)


def customer_editor(state: SimState, draft: Order) -> str:
    page = lookup_page(state, draft.agent, "", 0)
    ed = CUSTOMER_EDITOR
    return (
        f'<table id="{ed}" class="dxeButtonEditSys dxeButtonEdit_XafTheme" data-dx-control="{ed}" '
        'data-dx-state="{}"><tr>'
        f'<td class="dxic"><input id="{ed}_I" name="{ed}_I" class="dxeEditArea_XafTheme" type="text" '
        f'readonly value="{escape(draft.customer_name)}" autocomplete="off">'
        f'<input type="hidden" id="{ed}_VI" name="{ed}_VI" value="{escape(draft.customer or "")}"></td>'
        f'<td id="{ed}_B-1" class="dxeButton dxeButtonEditButton_XafTheme" data-dx-dropdown="{ed}">▼</td>'
        "</tr></table>"
        f'<div id="{ed}_DDD_PW" class="dxpcDropDown_XafTheme dxpclW" style="display:none" data-dx-lookup="{ed}">'
        f'<div id="{ed}_DDD_PWC" class="dxpc-content"><div class="SearchActionContainer">'
        f'<input id="{LOOKUP_GRID}_DXSE_I" class="dxeEditArea_XafTheme" type="text" '
        f'placeholder="Cerca..." autocomplete="off" data-dx-search="{LOOKUP_GRID}"></div>'
        f"{grid_control(LOOKUP_GRID, lookup_inner(page), page.state(), 'dxgvLookup')}</div></div>"
        f'<div id="{ed}_LPV" class="dxgvLoadingPanel_XafTheme" style="display:none">Caricamento…</div>'
    )


def article_rows(products: list[Product], limit: int, editor: str = ARTICLE_EDITOR) -> str:
    """Drop-down rows of an article editor: one per package variant."""
    rows: list[str] = []
    for product in products:
        for variant in product.variants:
            rows.append(
                f'<tr id="{editor}_DDD_L_DXDataRow{len(rows)}" class="dxgvDataRow_XafTheme" '
                f'data-dx-article="{escape(product.item_id)}" data-variant="{variant.variant_id}" '
                f'data-package="{variant.package_content}">'
                f'<td class="dxgv">{escape(product.item_id)}</td><td class="dxgv">{variant.variant_id}</td>'
                f'<td class="dxgv">{variant.package_content}</td><td class="dxgv">{escape(product.name)}</td></tr>'
            )
            if len(rows) >= limit:
                break
        if len(rows) >= limit:
            break
    if not rows:
        rows.append(
            f'<tr id="{editor}_DDD_L_DXEmptyRow" class="dxgvEmptyData_XafTheme">'
            '<td colspan="4">Nessun articolo corrispondente</td></tr>'
        )
    head = (
        '<tr class="dxgvHeaderRow_XafTheme"><td class="dxgvHeader_XafTheme">ITEMID</td>'
        '<td class="dxgvHeader_XafTheme">Variante</td><td class="dxgvHeader_XafTheme">Contenuto confezione</td>'
        '<td class="dxgvHeader_XafTheme">NAME</td></tr>'
    )
    return f'<table class="dxgvTable_XafTheme">{head}{"".join(rows)}</table>'


def lines_inner(
    state: SimState,
    draft: Order,
    *,
    editing: bool,
    read_only: bool = False,
    values: dict[str, str] | None = None,
    error: str = "",
    edit_row: int | None = None,
) -> str:
    """The lines grid content: `editnew` row while a line is added, or row `edit_row` in edit."""
    values = values or {}
    add = (
        ""
        if read_only
        else f'<a id="{LINES_GRID}_DXCBtn_AddNew" class="dxbButton_XafTheme" data-args="[[\'AddNew\'],1]">Nuovo</a>'
    )
    heads = "".join(f'<td class="dxgvHeader_XafTheme">{c}</td>' for c in LINE_COLUMNS)
    out = [
        (
            f'<table id="{LINES_GRID}_DXMainTable" class="dxgvTable_XafTheme">'
            f'<tr id="{LINES_GRID}_DXHeadersRow0" class="dxgvHeaderRow_XafTheme">'
            f'<td class="dxgvCommandColumn_XafTheme dxgvHeader_XafTheme">{add}</td>'
            f'<td class="dxgvCommandColumn_XafTheme dxgvHeader_XafTheme"></td>{heads}</tr>'
        )
    ]
    for n, line in enumerate(draft.lines):
        if n == edit_row:
            out.append(_edit_row(values, f"edit{n}", str(n)))
            continue
        product = state.products_by_id.get(line.article)
        package = (
            next((v.package_content for v in product.variants if v.variant_id == line.variant), 0)
            if product
            else 0
        )
        cells = (
            line.article,
            line.variant,
            product.name if product else "",
            fmt_quantity(line.quantity),
            str(package),
            "" if line.discount is None else fmt_quantity(line.discount),
            fmt_money(line.amount_eur),
        )
        commands = (
            (
                '<td class="dxgvCommandColumn_XafTheme"></td><td class="dxgvCommandColumn_XafTheme"></td>'
            )
            if read_only
            else (
                f'<td class="dxgvCommandColumn_XafTheme"><a id="{LINES_GRID}_DXCBtn{n}_StartEdit" '
                f'class="dxbButton_XafTheme dxgvCommandColumnItem" title="Modifica" '
                f"data-args=\"[['StartEdit',{n}],1]\">Modifica</a></td>"
                f'<td class="dxgvCommandColumn_XafTheme"><a id="{LINES_GRID}_DXCBtn{n}_Delete" '
                f'class="dxbButton_XafTheme dxgvCommandColumnItem" title="Elimina" '
                f"data-args=\"[['DeleteRow',{n}],1]\">Elimina</a></td>"
            )
        )
        out.append(
            f'<tr id="{LINES_GRID}_DXDataRow{n}" class="dxgvDataRow_XafTheme" data-key="{n}">'
            + commands
            + "".join(f'<td class="dxgv">{escape(c)}</td>' for c in cells)
            + "</tr>"
        )
    if editing:
        out.append(_edit_row(values, "editnew", "new"))
    if error:
        out.append(
            f'<tr id="{ERROR_ROW}" class="dxgvEditingErrorRow_XafTheme">'
            f'<td colspan="{len(LINE_COLUMNS) + 2}" class="dxgvEditingErrorCell">{escape(error)}</td></tr>'
        )
    if not draft.lines and not editing:
        out.append(
            f'<tr id="{LINES_GRID}_DXEmptyRow" class="dxgvEmptyData_XafTheme">'
            f'<td colspan="{len(LINE_COLUMNS) + 2}">Nessun dato da visualizzare</td></tr>'
        )
    out.append(
        f'<tr id="{LINES_GRID}_DXFooterRow" class="dxgvFooter_XafTheme">'
        f'<td colspan="{len(LINE_COLUMNS) + 2}">Count={len(draft.lines)}</td></tr></table>'
    )
    return "".join(out)


def line_values(line: OrderLine) -> dict[str, str]:
    """The edit row's inputs for an existing line."""
    return {
        "article": line.article,
        "variant": line.variant,
        "qty": fmt_quantity(line.quantity),
        "disc": "" if line.discount is None else fmt_quantity(line.discount),
    }


def _edit_row(values: dict[str, str], tag: str, row: str) -> str:
    """An editing row; `tag` is "editnew" for a new line or "edit{n}" for line n."""
    ed = f"{LINES_GRID}_{tag}_xaf_dviINVENTTABLE_Edit_dropdown_DD"
    article = escape(values.get("article", ""))
    return (
        f'<tr id="{LINES_GRID}_DXEditingRow_{tag}" class="dxgvEditingRow_XafTheme" data-row="{row}">'
        '<td class="dxgvCommandColumn_XafTheme" colspan="2">'
        f'<a id="{LINES_GRID}_DXCBtn_UpdateEdit" class="dxbButton_XafTheme" data-args="[[\'UpdateEdit\'],1]">Aggiorna</a> '
        f'<a id="{LINES_GRID}_DXCBtn_CancelEdit" class="dxbButton_XafTheme" data-args="[[\'CancelEdit\'],1]">Annulla</a></td>'
        f'<td colspan="3"><div id="{ed}" data-dx-control="{ed}" data-dx-state="{{}}" class="dxeButtonEdit_XafTheme">'
        f'<input id="{ed}_I" class="dxeEditArea_XafTheme" type="text" value="{article}" autocomplete="off" '
        f'data-dx-incremental="{ed}">'
        f'<input type="hidden" id="{ed}_VI" value="{escape(values.get("variant", ""))}">'
        f'<div id="{ed}_DDD_PW" class="dxpcDropDown_XafTheme" style="display:none"><div id="{ed}_DDD_L"></div></div>'
        f'<div id="{ed}_LPV" class="dxgvLoadingPanel_XafTheme" style="display:none">Caricamento…</div></div></td>'
        f'<td><input id="{LINES_GRID}_{tag}_xaf_dviSALESQTY_Edit_I" class="dxeEditArea_XafTheme" type="text" '
        f'value="{escape(values.get("qty", ""))}" autocomplete="off"></td><td></td>'
        f'<td><input id="{LINES_GRID}_{tag}_xaf_dviLINEDISC_Edit_I" class="dxeEditArea_XafTheme" type="text" '
        f'value="{escape(values.get("disc", ""))}" autocomplete="off"></td><td></td></tr>'
    )


def lines_control(state: SimState, draft: Order, read_only: bool = False) -> str:
    inner = lines_inner(state, draft, editing=False, read_only=read_only)
    client_state = {
        "rows": len(draft.lines),
        "page": 0,
        "page_count": 1,
        "columns": columns_state(list_columns(LINE_COLUMNS)),
    }
    return grid_control(LINES_GRID, inner, client_state)


def edit_body(state: SimState, draft: Order, posted: dict[str, str]) -> str:
    """The detail view in edit mode (a new order or an unsaved draft)."""
    header = [
        f'<table id="{LAYOUT}" class="Layout">',
        (
            f'<tr><td class="Caption">ID:</td><td><span id="{ORDER_ID_VIEW}">'
            f"{fmt_int(draft.id) if draft.id else ''}</span></td></tr>"
        ),
        f'<tr><td class="Caption">Cliente:</td><td>{customer_editor(state, draft)}</td></tr>',
        (
            f'<tr><td class="Caption">Indirizzo di consegna:</td><td><span id="{ADDRESS_VIEW}">'
            f"{escape(draft.delivery_address)}</span></td></tr>"
        ),
    ]
    current = {
        "DELIVERYDATE": fmt_iso_date(draft.delivery_date),
        "CUSTOMERREF": draft.reference,
        "PURCHORDERFORMNUM": draft.purch_order_num,
        "DISCPERCENT": "" if draft.discount is None else fmt_quantity(draft.discount),
        "NOTES": draft.notes,
    }
    for field, (_, label) in HEADER_FIELDS.items():
        input_id = field_input_id(field)
        value = escape(posted.get(input_id, current[field]))
        if field == "NOTES":
            widget = f'<textarea id="{input_id}" name="{input_id}" class="dxeMemo_XafTheme" rows="3">{value}</textarea>'
        else:
            widget = (
                f'<input id="{input_id}" name="{input_id}" class="dxeEditArea_XafTheme" type="text" '
                f'value="{value}" autocomplete="off">'
            )
        header.append(f'<tr><td class="Caption">{escape(label)}:</td><td>{widget}</td></tr>')
    header.append(
        f'<tr><td class="Caption">Righe:</td><td>{lines_control(state, draft)}</td></tr></table>'
    )
    return "".join(header)


def view_body(state: SimState, order: Order) -> str:
    """The detail view of a saved order in view mode (`xaf_dvi{FIELD}_View`)."""
    fields = (
        ("ID", "ID", fmt_int(order.id)),
        ("SALESID", "N. ordine", order.sales_id),
        ("CUSTACCOUNT", "Cliente", order.customer or ""),
        ("SALESNAME", "Nome", order.customer_name),
        ("DLVADDRESS", "Indirizzo di consegna", order.delivery_address),
        ("CREATEDDATETIME", "Creato", fmt_datetime(order.created)),
        ("DELIVERYDATE", "Data di consegna", fmt_iso_date(order.delivery_date)),
        ("CUSTOMERREF", "Riferimento cliente", order.reference),
        ("PURCHORDERFORMNUM", "N. ordine d'acquisto", order.purch_order_num),
        ("NOTES", "Note", order.notes),
        ("SALESSTATUS", "Stato", order.status),
        ("TRANSFERSTATUS", "Stato trasferimento", order.transfer_status),
        ("GROSSAMOUNT", "Totale", fmt_money(order.gross_amount_eur)),
    )
    rows = "".join(
        f'<tr><td class="Caption">{escape(label)}:</td><td><span id="{field_view_id(field)}">'
        f"{escape(value)}</span></td></tr>"
        for field, label, value in fields
    )
    return (
        f'<table id="{LAYOUT}" class="Layout">{rows}'
        f'<tr><td class="Caption">Righe:</td><td>{lines_control(state, order, read_only=True)}</td></tr></table>'
    )
