"""The delivery notes' and invoices' list views, their PDF files, and the order lines export.

As the live lists (FACTS §8, §13; dump listViews.DDT/Invoices):

* **Empty on first load**: the page comes with no data rows (`GetVisibleRowsOnPage()` 0)
  until the date filter is used — a real mouse click on one of its items (a search also
  queries the server). `SetValue` on that combo changes only the client's value: it never
  reaches the server.
* Rows carry five leading cells (the command cell with the `onclick` that selects the row,
  the edit cell, an extra cell reading "N/A", two script cells) before the data cells.
* "Scarica PDF"/"Get PDF" is disabled until a row is selected; its callback puts the file
  anchor `div[id$="_xaf_InvoicePDF"] a.XafFileDataAnchor` into the row (text "N/A" when the
  ERP holds no PDF). A delivery note may first answer "Requested objects cannot be loaded".
* The anchor's file is a GET with `Content-Disposition: attachment`, served to the owner only.
"""

from __future__ import annotations

import json
import math
import re
from html import escape
from typing import Any

from aiohttp import web

from erpsim import urls
from erpsim.callbacks import Callback, reply
from erpsim.culture import Lang, format_value, label, lang_of
from erpsim.documents import (
    OBJECTS_NOT_LOADED,
    DocKind,
    Document,
    doc_lines,
    document_pdf,
    order_lines_pdf,
)
from erpsim.html_grid import Cell, ColumnSpec, GridPage, columns_state, pager, paginate
from erpsim.html_layout import server_error_page
from erpsim.list_page import (
    combo_prefix,
    combo_tool,
    filter_combo,
    foreign_grid,
    int_param,
    list_page,
    page_row_values,
    paging,
    sort_by,
)
from erpsim.list_sort import sorted_items
from erpsim.list_state import FilterCombo, ListPrefs
from erpsim.sim import Sim, session_of, sim_of

#: The list keys (views_lists.SPECS) this module serves.
KINDS: dict[str, DocKind] = {"packing_slips": "ddt", "invoices": "invoice"}
COMBO_RE = re.compile(r"^Vertical_mainMenu_Menu_ITCNT(\d+)_xaf_a(\d+)_Cb$")
MAX_PAGE_SIZE = 200
#: Leading cells of a data row before the data cells (dump domStructure: 22 cells, 17 data).
LEADING_CELLS = 5


def _iso(epoch_s: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch_s)) if epoch_s else ""


def _common_values(
    d: Document, number: str, date: str, account: str, name: str, own: dict[str, Cell]
) -> dict[str, Cell]:
    """FIELD -> cell of what both journals hold under their own field names (`number`,
    `date`, `account`, `name`) or the same ones (ID, SALESID, QTY, …), with the kind's `own`."""
    return {
        "ID": ("int", str(d.id)),
        number: d.number,
        date: ("date", d.date),
        "SALESID": d.sales_id,
        account: d.customer,
        name: d.customer_name,
        "QTY": ("int", f"{d.quantity:.0f}"),
        "CUSTOMERREF": "",
        "PURCHASEORDER": str(d.order_id) if d.order_id else "",
        **own,
        "MODIFIEDDATETIME": ("datetime", _iso(d.modified)),
    }


def ddt_values(d: Document) -> dict[str, Cell]:
    """FIELD -> cell of a delivery note."""
    own: dict[str, Cell] = {
        "DELIVERYNAME": d.customer_name,
        "DLVADDRESS": d.address,
        "BRASTRACKINGNUMBER": d.tracking,
        "DLVTERM.TXT": "",
        "DLVMODE.TXT": "Corriere",
        "BRASCRMATTENTIONTO": "",
        "DLVEMAIL": "",
    }
    return _common_values(
        d, "PACKINGSLIPID", "DELIVERYDATE", "ORDERACCOUNT", "SALESTABLE.SALESNAME", own
    )


def invoice_values(d: Document) -> dict[str, Cell]:
    """FIELD -> cell of an invoice."""
    remaining = round(d.total - d.settled, 2)
    own: dict[str, Cell] = {
        "SALESBALANCEMST": ("decimal", f"{d.net:.2f}"),
        "SUMLINEDISCMST": ("decimal", "0.00"),
        "ENDDISCMST": ("decimal", "0.00"),
        "SUMTAXMST": ("decimal", f"{d.vat:.2f}"),
        "INVOICEAMOUNTMST": ("decimal", f"{d.total:.2f}"),
        "DUEDATE": ("date", d.due_date),
        "PAYMTERMID.DESCRIPTION": d.payment_term,
        "OVERDUEDAYS": ("int", str(d.credit_days)),
        "SETTLEAMOUNTMST": ("decimal", f"{d.settled:.2f}"),
        "LASTSETTLEVOUCHER": "",
        "LASTSETTLEDATE": ("date", ""),
        "CLOSED": ("date", "" if remaining > 0 else d.date),
        "REMAINAMOUNTMST": ("decimal", f"{remaining:.2f}"),
    }
    return _common_values(d, "INVOICEID", "INVOICEDATE", "INVOICEACCOUNT", "INVOICINGNAME", own)


def values_of(d: Document) -> dict[str, Cell]:
    return ddt_values(d) if d.kind == "ddt" else invoice_values(d)


def _visible(columns: tuple[ColumnSpec, ...]) -> tuple[str, ...]:
    shown = sorted((i, f) for f, v, i in columns if v and f)
    return tuple(f for _, f in shown)


def anchor_id(grid: str, doc: Document) -> str:
    return f"{grid}_cell{doc.id}_xaf_InvoicePDF"


def file_url(doc: Document) -> str:
    return f"{urls.FILE_DATA}?kind={doc.kind}&id={doc.id}"


def anchor_html(grid: str, doc: Document) -> str:
    """The file anchor the "Get PDF" callback puts into the row (BOT:16060-16245)."""
    text = doc.filename if doc.has_pdf else "N/A"
    href = file_url(doc) if doc.has_pdf else "javascript:;"
    return (
        f'<table><tbody><tr><td><a class="dxbButton_XafTheme XafFileDataAnchor dxbButtonSys" '
        f'id="{anchor_id(grid, doc)}_View_HA" href="{escape(href)}"><span>{escape(text)}</span>'
        "</a></td></tr></tbody></table>"
    )


def _row(grid: str, n: int, doc: Document, fields: tuple[str, ...], lang: Lang) -> str:
    values = values_of(doc)
    lead = (
        f'<td class="dxgvCommandColumn_XafTheme" onclick="ASPx.GVSelectRow(this, event)">'
        f'<input type="checkbox" class="dxgvSelectCheck" id="{grid}_DXSelBtn{n}"></td>'
        f'<td class="dxgvCommandColumn_XafTheme"><a id="{grid}_DXCBtn{n}" '
        "class=\"dxbButton_XafTheme\" data-args=\"[['Edit'],[0]]\"></a>"
        f"<script>ASPx.AddDisabledItems('{grid}_DXCBtn{n}',[[['dxbDisabled'],[''],['']]]);"
        "</script></td>"
        '<td class="dxgv">N/A</td><td class="dxgv"></td>'
        f"<td class=\"dxgv\"><script>ASPx.AddDisabledItems('{grid}_DXRow{n}',[]);</script></td>"
    )
    cells = []
    for field in fields:
        if field == "InvoicePDF.FileName":
            cells.append(
                f'<td class="dxgv dx-al"><div id="{anchor_id(grid, doc)}" class="WebEditorCell">'
                "</div></td>"
            )
            continue
        cell = values.get(field, "")
        if isinstance(cell, str):
            cells.append(f'<td class="dxgv">{escape(cell)}</td>')
        else:
            kind, raw = cell
            shown = format_value(kind, raw, lang) if raw else ""  # type: ignore[arg-type]
            cells.append(
                f'<td class="dxgv" data-dxfmt="{kind}" data-v="{escape(raw, quote=True)}">'
                f"{escape(shown)}</td>"
            )
    return (
        f'<tr id="{grid}_DXDataRow{n}" class="dxgvDataRow_XafTheme" data-key="{doc.id}">'
        f"{lead}{''.join(cells)}</tr>"
    )


def _inner(
    grid: str, fields: tuple[str, ...], docs: list[Document], shown: GridPage, lang: Lang
) -> str:
    span = len(fields) + LEADING_CELLS
    out = [
        f'<table id="{grid}_DXMainTable" class="dxgvTable_XafTheme">'
        f'<tr id="{grid}_DXHeadersRow0" class="dxgvHeaderRow_XafTheme">'
        + '<td class="dxgvHeader_XafTheme"></td>' * LEADING_CELLS
        + "".join(f'<td class="dxgvHeader_XafTheme">{escape(f)}</td>' for f in fields)
        + "</tr>"
    ]
    out += [_row(grid, n, d, fields, lang) for n, d in enumerate(docs)]
    if not docs:
        out.append(
            f'<tr id="{grid}_DXEmptyRow" class="dxgvEmptyData_XafTheme">'
            f'<td colspan="{span}">{escape(label("empty_grid", lang))}</td></tr>'
        )
    out.append(
        f'<tr id="{grid}_DXFooterRow" class="dxgvFooter_XafTheme"><td colspan="{span}">'
        f"Count={shown.total}</td></tr></table>"
    )
    out.append(pager(grid, shown))
    return "".join(out)


class _Grid:
    """One rendering of a documents list for an agent: rows, state, markup."""

    def __init__(
        self, sim: Sim, spec: Any, agent: str, prefs: ListPrefs, lang: Lang, name: str,
        *, loaded: bool, page_index: int, page_size: int, search: str,
    ) -> None:
        kind = KINDS[spec.key]
        items = sim.state.documents.of_agent(kind, agent, search)
        combo: FilterCombo = spec.filters
        keep = combo.item(prefs.filter or combo.default).keep
        items = [d for d in items if keep(d)] if loaded else []
        items = sorted_items(items, prefs.sort, lambda d, field: values_of(d).get(field))
        self.items = items
        size = min(max(1, page_size), MAX_PAGE_SIZE)
        on_page, index = paginate(items, page_index, size)
        self.name = name
        self.docs = on_page
        self.fields = _visible(spec.columns)
        self.page = GridPage((), len(items), index, size, search)
        self.loaded = loaded
        self.columns = spec.columns
        self.lang = lang

    def state(self) -> dict[str, Any]:
        return {
            "columns": columns_state(self.columns),
            "page": self.page.page_index,
            "page_count": max(1, math.ceil(self.page.total / self.page.page_size)),
            "page_size": self.page.page_size,
            "search": self.page.search,
            "rows": len(self.docs),
            "total": self.page.total,
            "loaded": self.loaded,
        }

    def inner(self) -> str:
        return _inner(self.name, self.fields, self.docs, self.page, self.lang)

    def control(self) -> str:
        state = escape(json.dumps(self.state()), quote=True)
        return (
            f'<div id="{self.name}" class="dxgvControl_XafTheme" data-dx-grid="{self.name}" '
            f'data-dx-control="{self.name}" data-dx-state="{state}">'
            f'<div id="{self.name}_CC">{self.inner()}</div>'
            f'<div id="{self.name}_LPV" class="dxlpLoadingPanel_XafTheme dxlpLoadingPanel" '
            'style="display:none"><span class="dxlp-text">Loading…</span></div></div>'
        )


def first_page(
    sim: Sim, spec: Any, agent: str, prefs: ListPrefs, name: str, lang: Lang
) -> web.Response:
    """A documents list as GET shows it, its grid named `name`: no rows yet (the date filter's
    click loads them). views_lists.list_view dispatches here."""
    grid = _Grid(sim, spec, agent, prefs, lang, name, loaded=False,
                 page_index=prefs.page_index, page_size=prefs.page_size, search="")
    _, combo_html = _combo(spec.filters, prefs, lang, name, combo_prefix())
    return list_page(
        sim,
        agent,
        lang,
        title=spec.title,
        url=spec.url,
        grid=grid.control(),
        tools=spec.tools + (combo_tool(spec.filters, combo_html),),
    )


def _combo(
    combo: FilterCombo, prefs: ListPrefs, lang: Lang, grid: str, prefix: str
) -> tuple[str, str]:
    """(combo name, its markup inside `ITCNT{slot}_`): items take real clicks only."""
    return filter_combo(combo, prefs, lang, prefix, trusted=True, grid=grid)


def callback_reply(
    sim: Sim, spec: Any, agent: str, callback: Callback, lang: Lang
) -> web.Response:
    """Answer a documents list's callback (filter, paging, sort, row values, Get PDF);
    views_lists.list_view dispatches here."""
    prefs = sim.list_state.get(agent, spec.key)
    param = callback.param
    command = callback.command
    combo: FilterCombo = spec.filters
    combo_match = COMBO_RE.match(callback.control)
    if combo_match and command == "SETFILTER":
        value = str(param.get("value") or "")
        prefix = re.match(r"^xaf_xaf_a\d+", value)
        suffix = value[prefix.end():] if prefix else value
        if any(item.value == suffix for item in combo.items):
            sim.list_state.set(agent, spec.key, filter_value=suffix, page_index=0)
        grid_name = str(param.get("grid") or "")
        if not spec.owns_grid(grid_name):
            return web.Response(text=server_error_page(), content_type="text/html", status=500)
        grid = _Grid(sim, spec, agent, prefs, lang, grid_name, loaded=True, page_index=0,
                     page_size=prefs.page_size, search=str(param.get("search") or ""))
        _, combo_html = _combo(combo, prefs, lang, grid_name,
                               prefix.group(0) if prefix else "xaf_xaf_a0")
        return reply(
            control=grid_name,
            updates={f"{grid_name}_CC": grid.inner(),
                     f"Vertical_mainMenu_Menu_ITCNT{combo.slot}_": combo_html},
            state=grid.state(),
        )
    if not spec.owns_grid(callback.control):
        return foreign_grid(sim)
    # A search queries the server: the rows load as the date filter's click loads them.
    loaded = bool(param.get("loaded")) or command == "SEARCH"
    page_index, page_size = paging(command, param, prefs)
    search = str(param.get("search") or "")
    error = None
    if command == "SORT":
        # SortBy(column, order, reset, index): kept per user, as on the other lists.
        sort_by(sim, spec.key, spec.columns, agent, param, prefs)
    grid = _Grid(sim, spec, agent, prefs, lang, callback.control, loaded=loaded,
                 page_index=page_index, page_size=page_size, search=search)
    if command == "ROWVALUES" and "row" not in param:
        rows = page_row_values(grid.docs, param, lambda doc, field: values_of(doc).get(field))
        return reply(control=callback.control, rowValues=rows)
    sim.list_state.set(agent, spec.key, page_size=grid.page.page_size,
                       page_index=grid.page.page_index)
    if command == "GetPdf":
        kind = KINDS[spec.key]
        keys = [str(k) for k in param.get("keys") or []]
        doc = sim.state.documents.find(kind, keys[0]) if keys else None
        if doc is None or doc.agent != agent:
            error = "Selezionare almeno una riga."
        elif doc.export_failures > 0:
            doc.export_failures -= 1
            error = OBJECTS_NOT_LOADED
        else:
            return reply(control=callback.control,
                         updates={anchor_id(callback.control, doc): anchor_html(callback.control, doc)})
        return reply(control=callback.control, error=error)
    return reply(
        control=callback.control,
        updates={f"{callback.control}_CC": grid.inner()},
        state=grid.state(),
        error=error,
    )


def _attachment(content: bytes, filename: str) -> web.Response:
    return web.Response(
        body=content,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def file_data(request: web.Request) -> web.StreamResponse:
    """A document's PDF, to its agent only (anyone else: the object does not exist)."""
    sim = sim_of(request)
    agent = session_of(request).agent
    kind = request.query.get("kind", "")
    doc = None
    if kind == "ddt" or kind == "invoice":
        doc = sim.state.documents.find("ddt" if kind == "ddt" else "invoice", request.query.get("id", ""))
    if doc is None or doc.agent != agent or not doc.has_pdf:
        return web.Response(text=label("not_found", lang_of(request)), status=404)
    return _attachment(document_pdf(doc, lang_of(request) == "it"), doc.filename)


async def saleslines_pdf(request: web.Request) -> web.StreamResponse:
    """The lines grid of an order exported to PDF (the lines toolbar's DXI1)."""
    sim = sim_of(request)
    # Any agent's order: its view page opens across agents (FACTS §13), so does its export.
    order = sim.state.orders.get(int_param(request.query.get("order"), -1))
    if order is None:
        return web.Response(text=label("not_found", lang_of(request)), status=404)
    lines = doc_lines(sim.state, order.lines)
    return _attachment(order_lines_pdf(order, lines, lang_of(request) == "it"),
                       f"Salesline_{order.id}.pdf")


def saleslines_pdf_url(order_id: int) -> str:
    return f"{urls.SALESLINES_PDF}?order={order_id}"


# -- admin -----------------------------------------------------------------------------------


async def admin_documents(request: web.Request) -> web.Response:
    """`POST /__sim/documents`: another user creates or changes an agent's document.

    Body: `{"kind": "ddt"|"invoice", "agent", "id"? (change that one), "number"?, "customer"?,
    "order_id"?, "date"?, "has_pdf"?, "export_failures"?, "lines"?: [{article, quantity,
    price?, discount?}]}`. Any change moves its MODIFIEDDATETIME on. Returns the document.
    """
    sim = sim_of(request)
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "expected a JSON object"}, status=400)
    kind = body.get("kind")
    agent = str(body.get("agent") or "")
    if kind not in ("ddt", "invoice") or agent not in sim.state.agents:
        return web.json_response({"error": "kind must be ddt|invoice and agent known"}, status=400)
    store = sim.state.documents
    lines = None
    if body.get("lines") is not None:
        from erpsim.model import OrderLine

        order_lines = []
        for row in body["lines"]:
            product = sim.state.products_by_id.get(str(row.get("article")))
            price = float(row.get("price", product.price_eur if product else 1.0))
            order_lines.append(OrderLine(str(row["article"]), "", float(row["quantity"]),
                                         float(row.get("discount") or 0.0), price))
        lines = doc_lines(sim.state, order_lines)
    if body.get("id") is not None:
        doc = store.find(kind, str(body["id"]))
        if doc is None:
            return web.json_response({"error": f"no {kind} {body['id']}"}, status=404)
        for key in ("has_pdf", "export_failures", "date", "number"):
            if key in body:
                setattr(doc, key, body[key])
        if lines is not None:
            doc.lines = lines
        doc.touch()
        return web.json_response(doc.to_json())
    customers = sim.state.customers_by_agent.get(agent, [])
    customer = sim.state.customers_by_account.get(str(body.get("customer") or "")) or (
        customers[0] if customers else None)
    if customer is None:
        return web.json_response({"error": f"agent {agent} has no customers"}, status=400)
    import datetime as dt

    doc = store.add(
        kind,
        agent=agent,
        number=body.get("number"),
        order_id=int(body.get("order_id") or 0),
        sales_id=str(body.get("sales_id") or ""),
        customer=customer.account,
        customer_name=customer.name,
        address=f"{customer.street}, {customer.zip_code} {customer.city}",
        date=str(body.get("date") or dt.date.today().isoformat()),
        lines=lines or doc_lines(sim.state, []),
        has_pdf=bool(body.get("has_pdf", True)),
        export_failures=int(body.get("export_failures") or 0),
    )
    return web.json_response(doc.to_json())


async def admin_documents_state(request: web.Request) -> web.Response:
    """`GET /__sim/documents?agent=`: every (or one agent's) delivery note and invoice."""
    agent = request.query.get("agent") or None
    return web.json_response(sim_of(request).state.documents.to_json(agent))


def add_routes(app: web.Application) -> None:
    """The documents' file routes and their admin API (called from views_admin.add_routes)."""
    app.router.add_get(urls.FILE_DATA, file_data)
    app.router.add_get(urls.SALESLINES_PDF, saleslines_pdf)
    app.router.add_post("/__sim/documents", admin_documents)
    app.router.add_get("/__sim/documents", admin_documents_state)
