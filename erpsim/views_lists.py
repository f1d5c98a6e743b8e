"""List views (orders, customers, products, empty journals) and their grid callbacks."""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from aiohttp import web

from erpsim import urls, views_documents
from erpsim.callbacks import Callback, redirect_reply, reply
from erpsim.columns import (
    CUSTOMER_COLUMNS,
    DDT_COLUMNS,
    INVOICE_COLUMNS,
    LINE_DISCOUNT_COLUMNS,
    ORDER_COLUMNS,
    PRICE_COLUMNS,
    PRODUCT_COLUMNS,
)
from erpsim.culture import Lang, format_value, label, lang_of
from erpsim.errors import SimValidation
from erpsim.html_grid import (
    Cell,
    ColumnSpec,
    GridPage,
    GridRow,
    grid_control,
    grid_inner,
    paginate,
    visible_fields,
)
from erpsim.html_layout import ToolItem, page
from erpsim.list_page import (
    cell_json,
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
from erpsim.list_state import (
    CUSTOMER_FILTERS,
    DDT_FILTERS,
    INVOICE_FILTERS,
    LINE_DISCOUNT_FILTERS,
    ORDER_FILTERS,
    PRICE_FILTERS,
    FilterCombo,
    ListPrefs,
)
from erpsim.model import Customer, Order, Product
from erpsim.sim import Sim, session_of, sim_of
from erpsim.viewstate import ViewState
from erpsim.writes import commit_write

MAX_PAGE_SIZE = 200
#: A list grid's client name: `Vertical_v{N}_{a number drawn per visit}_LE_v{N}`.
GRID_NAME_RE = re.compile(r"^Vertical_v(\d+)_(\d+)_LE_v(\d+)$")
COMBO_NAME_RE = re.compile(r"^Vertical_mainMenu_Menu_ITCNT(\d+)_xaf_a(\d+)_Cb$")

RowSource = Callable[[Sim, str, str], list[Any]]
RowRender = Callable[[Any, tuple[str, ...]], GridRow]


@dataclass(frozen=True)
class ListSpec:
    """One list view: its title (a label key), URL, grid number, columns, rows, toolbar, filter."""

    key: str
    title: str
    url: str
    grid_number: int
    columns: tuple[ColumnSpec, ...]
    rows: RowSource
    render: RowRender
    tools: tuple[ToolItem, ...]
    filters: FilterCombo | None = None

    def grid_name(self) -> str:
        """A fresh client name, as the real server draws one on every visit."""
        n = self.grid_number
        return f"Vertical_v{n}_{secrets.randbelow(90_000_000) + 10_000_000}_LE_v{n}"

    def owns_grid(self, name: str) -> bool:
        m = GRID_NAME_RE.match(name)
        return m is not None and int(m.group(1)) == self.grid_number == int(m.group(3))

    def columns_for(self, prefs: ListPrefs) -> tuple[ColumnSpec, ...]:
        """The columns as this user sees them: hidden ones invisible, the rest renumbered."""
        if not prefs.hidden:
            return self.columns
        shown = [f for f in visible_fields(self.columns) if f not in prefs.hidden]
        position = {f: n + 2 for n, f in enumerate(shown)}
        out: list[ColumnSpec] = []
        for field, visible, index in self.columns:
            if not field:
                out.append((field, visible, index))
            elif field in position:
                out.append((field, True, position[field]))
            else:
                out.append((field, False, -1))
        return tuple(out)


def _iso_dt(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch_s)) if epoch_s else ""


def _cells(fields: tuple[str, ...], values: dict[str, Cell]) -> tuple[Cell, ...]:
    return tuple(values.get(field, "") for field in fields)


def _order_values(order: Order) -> dict[str, Cell]:
    return {
        "ID": ("int", str(order.id)),
        "SALESID": order.sales_id,
        "CUSTACCOUNT": order.customer or "",
        "SALESNAME": order.customer_name,
        "DELIVERYNAME": order.customer_name,
        "DLVADDRESS": order.delivery_address,
        "CREATEDDATETIME": ("datetime", _iso_dt(order.created)),
        "DELIVERYDATE": ("date", order.delivery_date),
        "PURCHORDERFORMNUM": order.reference,
        "CUSTOMERREF": order.customer_ref,
        "TEXTEXTERNAL": order.notes,
        "TEXTINTERNAL": order.internal_notes,
        "SALESSTATUS": order.status,
        "SALESTYPE": "Giornale",
        "DOCUMENTSTATUS": "Nessuno",
        "SALESORIGINID.DESCRIPTION": "Agent",
        "TRANSFERSTATUS": order.transfer_status,
        "TRANSFERREDDATE": ("date", _iso_dt(order.transfer_date)[:10]),
        "COMPLETEDDATE": ("date", ""),
        "QUOTE": "No",
        "MANUALDISCOUNT": ("percent", f"{order.discount or 0:.2f}"),
        "GROSSAMOUNT": ("money", f"{order.gross_amount_eur:.2f}"),
        "AmountTotal": ("money", f"{order.gross_amount_eur * 1.22:.2f}"),
        "SAMPLEORDER": "",
        "EMAIL": "",
        "MODIFIEDDATETIME": ("datetime", _iso_dt(order.changed)),
    }


def _customer_values(c: Customer) -> dict[str, Cell]:
    return {
        "ID": ("int", str(c.id)),
        "ACCOUNTNUM": c.account,
        "NAME": c.name,
        "VATNUM": c.vat_number,
        "LEGALEMAIL": c.email,
        "FISCALCODE": c.fiscal_code,
        "DLVMODE.TXT": "" if c.delivery_mode == "N/A" else c.delivery_mode,
        "LEGALAUTHORITY": c.sdi,
        "STREET": c.street,
        "LOGISTICSADDRESSZIPCODE.ZIPCODE": c.zip_code,
        "CITY": c.city,
        "PHONE": c.phone,
        "CELLULARPHONE": c.mobile,
        "ORDERCOUNTACT": ("int", str(c.id % 13)),
        "SALESACT": ("money", f"{(c.id % 97) * 101.5:.2f}"),
        "ORDERCOUNTPREV": ("int", str(c.id % 11)),
        "SALESPREV": ("money", f"{(c.id % 89) * 99.25:.2f}"),
        "ORDERCOUNTPREV2": ("int", str(c.id % 7)),
        "SALESPREV2": ("money", f"{(c.id % 83) * 97.75:.2f}"),
        "BUSRELTYPEID.TYPEDESCRIPTION": "Cliente",
        "BUSRELTYPEID.TYPEID": "CLI",
        "EXTERNALACCOUNTNUM": c.account,
    }


def _product_values(p: Product) -> dict[str, Cell]:
    first = p.variants[0] if p.variants else None
    return {
        "ITEMID": p.item_id,
        "NAME": p.name,
        "DESCRIPTION": p.description,
        "PRODUCTGROUPID.ID": p.group,
        "BRASPACKINGCONTENTS": "; ".join(
            f"{v.variant_id} ({v.package_content} pz)" for v in p.variants
        ),
        "SEARCHNAME": p.name.upper(),
        "PRICEUNIT": ("decimal", "1"),
        "PRODUCTGROUPID.PRODUCTGROUPID": p.group,
        "LOWESTQTY": ("decimal", str(first.package_content if first else 1)),
        "MULTIPLEQTY": ("decimal", str(first.package_content if first else 1)),
        "PURCHPRICEPCS": ("money", f"{p.price_eur:.2f}"),
        "DISPLAYPRODUCTNUMBER": p.item_id,
        "UNITID": "Pz",
        "STOPPED": "No",
    }


def order_row(order: Order, fields: tuple[str, ...] = ()) -> GridRow:
    fields = fields or visible_fields(ORDER_COLUMNS)
    return GridRow(
        key=str(order.id),
        cells=_cells(fields, _order_values(order)),
        edit_href=f"{urls.order_detail(order.id)}?mode=Edit",
    )


def _customer_row(customer: Customer, fields: tuple[str, ...]) -> GridRow:
    return GridRow(
        key=customer.account,
        cells=_cells(fields, _customer_values(customer)),
        edit_href=f"{urls.customer_detail(customer.id)}?mode=Edit",
    )


def _product_row(product: Product, fields: tuple[str, ...]) -> GridRow:
    return GridRow(key=product.item_id, cells=_cells(fields, _product_values(product)))


@dataclass(frozen=True)
class ListedProduct:
    """A product as its list shows it: with its MODIFIEDDATETIME (kept in the price book)."""

    product: Product
    modified: float


def _listed_product_values(item: ListedProduct) -> dict[str, Cell]:
    return {
        **_product_values(item.product),
        "MODIFIEDDATETIME": ("datetime", _iso_dt(item.modified)),
    }


def _listed_product_row(item: ListedProduct, fields: tuple[str, ...]) -> GridRow:
    return GridRow(key=item.product.item_id, cells=_cells(fields, _listed_product_values(item)))


def _price_values(row: Any) -> dict[str, Cell]:
    values: dict[str, Cell] = row.values()
    return values


def _price_row(row: Any, fields: tuple[str, ...]) -> GridRow:
    """A price or line-discount row (erpsim.prices): no detail link from the agent's view."""
    return GridRow(key=row.key, cells=_cells(fields, row.values()))


def _searched(rows: list[Any], search: str) -> list[Any]:
    """The search box over a price list: the row's id, article or group."""
    needle = search.strip().lower()
    if not needle:
        return list(rows)
    return [
        r
        for r in rows
        if needle in r.key or needle in str(getattr(r, "item_id", "")).lower()
        or needle in str(getattr(r, "item_relation", "")).lower()
        or needle in r.group[1].lower()
    ]


def _order_rows(sim: Sim, agent: str, search: str) -> list[Any]:
    return list(sim.state.agent_orders(agent, search))


def _customer_rows(sim: Sim, agent: str, search: str) -> list[Any]:
    return list(sim.state.search_customers(agent, search))


def _product_rows(sim: Sim, agent: str, search: str) -> list[Any]:
    modified = sim.state.price_book.product_modified
    return [
        ListedProduct(p, modified.get(p.item_id, 0.0)) for p in sim.state.search_products(search)
    ]


def _empty_rows(sim: Sim, agent: str, search: str) -> list[Any]:
    return []


# Toolbar items carry label keys (erpsim.culture), put in the request's language when shown.
REFRESH = ToolItem("refresh", "Refresh")
RESET_VIEW = ToolItem("reset_view", "ResetView")
SHOW_HIDDEN = ToolItem("show_hidden", "ShowHidden")
EXPORT = ToolItem("export", "Export")
EDIT_ROW = ToolItem("edit", "EditRow", needs_selection=True)


def _read_only_tools(first: ToolItem, show_hidden_index: int) -> tuple[ToolItem, ...]:
    """The toolbar of a list the agent only reads (dump): its one row action at DXI0, then
    Refresh, Reset View Settings, Export at DXI1-3 and Show hidden items at its own slot."""
    return (
        dataclasses.replace(first, index=0),
        dataclasses.replace(REFRESH, index=1),
        dataclasses.replace(RESET_VIEW, index=2),
        dataclasses.replace(EXPORT, index=3),
        dataclasses.replace(SHOW_HIDDEN, index=show_hidden_index),
    )


#: The delivery notes' and invoices' toolbar (dump: Get PDF, Refresh, Reset View Settings…).
DOCUMENT_TOOLS = _read_only_tools(ToolItem("download_pdf", "GetPdf", needs_selection=True), 5)
#: The price and line-discount lists' (Edit until a row is ticked, … Show hidden items at DXI5).
PRICE_TOOLS = _read_only_tools(EDIT_ROW, 5)


def _price_list(
    key: str, url: str, grid_number: int, columns: tuple[ColumnSpec, ...], filters: FilterCombo
) -> ListSpec:
    """A PRICEDISCTABLE list ("prices", "line_discounts"): global rows from the price book
    under the search box, no detail link, the same toolbar."""

    def rows(sim: Sim, agent: str, search: str) -> list[Any]:
        return _searched(sim.state.price_book.rows(key), search)

    return ListSpec(
        key, f"menu_{key}", url, grid_number, columns, rows, _price_row, PRICE_TOOLS, filters
    )


def _document_list(
    key: str, url: str, grid_number: int, columns: tuple[ColumnSpec, ...], filters: FilterCombo
) -> ListSpec:
    """A delivery notes' or invoices' list: erpsim.views_documents draws its rows and answers
    its callbacks (list_view dispatches); the spec gives its name, columns, toolbar, filter."""
    return ListSpec(
        key, f"menu_{key}", url, grid_number, columns, _empty_rows, _product_row, DOCUMENT_TOOLS,
        filters,
    )


SPECS = {
    urls.ORDERS: ListSpec(
        "orders",
        "menu_orders",
        urls.ORDERS,
        3,
        ORDER_COLUMNS,
        _order_rows,
        order_row,
        (
            ToolItem("new", "New", href=urls.NEW_ORDER, index=0),
            ToolItem("delete", "Delete", needs_selection=True, index=1, confirm="confirm_delete"),
            dataclasses.replace(EDIT_ROW, index=2),
            # Enabled on load in the real toolbar (the dump); without a selection they refuse.
            ToolItem("clone", "Clone", index=3),
            ToolItem("send", "Send", index=4, confirm="confirm_send"),
            dataclasses.replace(REFRESH, index=5),
            dataclasses.replace(RESET_VIEW, index=6),
            dataclasses.replace(SHOW_HIDDEN, index=9),
            dataclasses.replace(EXPORT, index=7),
        ),
        ORDER_FILTERS,
    ),
    urls.CUSTOMERS: ListSpec(
        "customers",
        "menu_customers",
        urls.CUSTOMERS,
        2,
        CUSTOMER_COLUMNS,
        _customer_rows,
        _customer_row,
        (
            ToolItem("new", "New", href=urls.NEW_CUSTOMER, index=0),
            dataclasses.replace(EDIT_ROW, index=1),
            dataclasses.replace(REFRESH, index=2),
            dataclasses.replace(RESET_VIEW, index=3),
            ToolItem("send_message", "Message", needs_selection=True, index=5),
            dataclasses.replace(SHOW_HIDDEN, index=8),
            dataclasses.replace(EXPORT, index=6),
        ),
        CUSTOMER_FILTERS,
    ),
    urls.PRODUCTS: ListSpec(
        "products",
        "menu_master_data",
        urls.PRODUCTS,
        4,
        PRODUCT_COLUMNS,
        _product_rows,
        _listed_product_row,
        _read_only_tools(EDIT_ROW, 4),
    ),
    # The price list and the line-discount list: global, filter "Active …"/"Closed …" at ITCNT4.
    urls.PRICES: _price_list("prices", urls.PRICES, 7, PRICE_COLUMNS, PRICE_FILTERS),
    urls.LINE_DISCOUNTS: _price_list(
        "line_discounts", urls.LINE_DISCOUNTS, 8, LINE_DISCOUNT_COLUMNS, LINE_DISCOUNT_FILTERS
    ),
    urls.PACKING_SLIPS: _document_list(
        "packing_slips", urls.PACKING_SLIPS, 5, DDT_COLUMNS, DDT_FILTERS
    ),
    urls.INVOICES: _document_list("invoices", urls.INVOICES, 6, INVOICE_COLUMNS, INVOICE_FILTERS),
}


def _filtered_items(
    sim: Sim, spec: ListSpec, agent: str, search: str, prefs: ListPrefs
) -> list[Any]:
    """The records the list shows for this search under the agent's filter, in their sort."""
    items = spec.rows(sim, agent, search)
    if spec.filters is not None:
        keep = spec.filters.item(prefs.filter or spec.filters.default).keep
        items = [item for item in items if keep(item)]
    return sorted_items(items, prefs.sort, lambda item, field: _cell_of(spec, item, field))


def _cell_of(spec: ListSpec, item: Any, field: str) -> Cell | None:
    """A row's cell of any column, hidden ones too (sort, GetRowValues): from the list's
    VALUES_OF, else from its row renderer."""
    values_of = VALUES_OF.get(spec.key)
    if values_of is not None:
        return values_of(item).get(field)
    return spec.render(item, (field,)).cells[0]


def grid_page(
    sim: Sim,
    spec: ListSpec,
    agent: str,
    page_index: int,
    page_size: int,
    search: str,
    prefs: ListPrefs,
) -> GridPage:
    """One page of the list as this agent sees it (their filter and columns applied)."""
    items = _filtered_items(sim, spec, agent, search, prefs)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    visible, index = paginate(items, page_index, page_size)
    fields = visible_fields(spec.columns_for(prefs))
    rows = tuple(spec.render(item, fields) for item in visible)
    return GridPage(rows, len(items), index, page_size, search)


def _filter_tools(spec: ListSpec, prefs: ListPrefs, lang: Lang) -> tuple[ToolItem, ...]:
    """The filter combo's toolbar item, showing the agent's filter; none if the list has none."""
    if spec.filters is None:
        return ()
    _, html = filter_combo(spec.filters, prefs, lang, combo_prefix())
    return (combo_tool(spec.filters, html),)


async def list_view(request: web.Request) -> web.StreamResponse:
    """GET a list view, or answer its grid callback."""
    sim = sim_of(request)
    spec = SPECS[request.path]
    # The delivery notes' and invoices' grids are erpsim.views_documents' own.
    documents = spec.key in views_documents.KINDS
    session = session_of(request)
    callback: Callback | None = request.get("callback")
    if callback is not None and documents:
        return views_documents.callback_reply(
            sim, spec, session.agent, callback, lang_of(request)
        )
    if callback is not None:
        return _list_callback(sim, spec, session.agent, callback, request)
    prefs = sim.list_state.get(session.agent, spec.key)
    name = spec.grid_name()
    if documents:
        return views_documents.first_page(sim, spec, session.agent, prefs, name, lang_of(request))
    grid = grid_page(sim, spec, session.agent, prefs.page_index, prefs.page_size, "", prefs)
    prefs.page_index = grid.page_index
    lang = lang_of(request)
    columns = spec.columns_for(prefs)
    inner = _grid_inner(name, columns, grid, lang)
    return list_page(
        sim,
        session.agent,
        lang,
        title=spec.title,
        url=spec.url,
        grid=grid_control(name, inner, grid.state(columns)),
        tools=spec.tools + _filter_tools(spec, prefs, lang),
    )


VALUES_OF: dict[str, Callable[[Any], dict[str, Cell]]] = {
    "orders": _order_values,
    "customers": _customer_values,
    "products": _listed_product_values,
    "prices": _price_values,
    "line_discounts": _price_values,
}


def _page_row_values(
    sim: Sim, spec: ListSpec, agent: str, param: dict[str, Any], prefs: ListPrefs
) -> list[list[list[str] | None]]:
    """GetPageRowValues: [kind, raw] of each asked field for every row on the current page."""
    items = _filtered_items(sim, spec, agent, str(param.get("search") or ""), prefs)
    on_page, _ = paginate(items, prefs.page_index, prefs.page_size)
    return page_row_values(on_page, param, lambda item, field: _cell_of(spec, item, field))


def _row_values(
    sim: Sim, spec: ListSpec, agent: str, param: dict[str, Any], prefs: ListPrefs
) -> list[list[str] | None]:
    """GetRowValues: [kind, raw] of each asked field of a row on the current page."""
    items = _filtered_items(sim, spec, agent, str(param.get("search") or ""), prefs)
    on_page, _ = paginate(items, prefs.page_index, prefs.page_size)
    index = int_param(param.get("row"), -1)
    values_of = VALUES_OF.get(spec.key)
    if values_of is None or not 0 <= index < len(on_page):
        return []
    values = values_of(on_page[index])
    return [cell_json(values.get(str(field))) for field in param.get("fields") or []]


def _grid_inner(name: str, columns: tuple[ColumnSpec, ...], grid: GridPage, lang: Lang) -> str:
    """The grid's markup, texts in `lang` (the browser re-formats numbers and dates)."""
    return grid_inner(
        name,
        visible_fields(columns),
        grid,
        fmt=lambda kind, raw: format_value(kind, raw, lang),  # type: ignore[arg-type]
        edit_title=label("edit", lang),
        empty_text=label("empty_grid", lang),
    )


def _list_callback(
    sim: Sim, spec: ListSpec, agent: str, callback: Callback, request: web.Request
) -> web.Response:
    prefs = sim.list_state.get(agent, spec.key)
    param = callback.param
    command = callback.command
    if COMBO_NAME_RE.match(callback.control) and command == "SETFILTER" and spec.filters:
        value = str(param.get("value") or "")
        suffix = re.sub(r"^xaf_xaf_a\d+", "", value)
        if any(item.value == suffix for item in spec.filters.items):
            sim.list_state.set(agent, spec.key, filter_value=suffix, page_index=0)
        # As the real one, choosing a filter reloads the whole view.
        return redirect_reply(request.path_qs)
    if not spec.owns_grid(callback.control):
        return foreign_grid(sim)
    page_index, page_size = paging(command, param, prefs)
    search = str(param.get("search") or "")
    error = None
    if command == "ROWVALUES" and "row" not in param:
        values = _page_row_values(sim, spec, agent, param, prefs)
        return reply(control=callback.control, rowValues=values)
    elif command == "ROWVALUES":
        return reply(control=callback.control, rowValues=_row_values(sim, spec, agent, param, prefs))
    elif command == "SORT":
        sort_by(sim, spec.key, spec.columns, agent, param, prefs)
    elif command in ("Delete", "Send") and spec.url == urls.ORDERS:
        error = _order_action(sim, agent, command, param.get("keys") or [], request.remote)
    grid = grid_page(sim, spec, agent, page_index, page_size, search, prefs)
    sim.list_state.set(agent, spec.key, page_size=grid.page_size, page_index=grid.page_index)
    columns = spec.columns_for(prefs)
    inner = _grid_inner(callback.control, columns, grid, lang_of(request))
    return reply(
        control=callback.control,
        updates={f"{callback.control}_CC": inner},
        state=grid.state(columns),
        error=error,
    )


def _order_action(sim: Sim, agent: str, command: str, keys: list[str], peer: str | None) -> str | None:
    """Cancellare / invia ordine/i on the selected rows (any number, one confirm): one write,
    all or none (SimState.act_on_orders); an Italian error or None."""

    def commit() -> None:
        sim.state.act_on_orders(agent, command, [int_param(key, -1) for key in keys])

    if not keys:
        return "Selezionare almeno una riga."
    try:
        commit_write(sim, "order_delete" if command == "Delete" else "order_send", commit,
                     agent=agent, peer=peer, record=lambda _: ",".join(keys))
    except SimValidation as exc:
        return exc.message
    return None


async def announcements(request: web.Request) -> web.Response:
    sim = sim_of(request)
    agent = sim.state.agents[session_of(request).agent]
    lang = lang_of(request)
    items = (
        label("announcement_welcome", lang).format(name=agent.full_name),
        label("announcement_cutoff", lang),
        label("announcement_prices", lang),
    )
    body = (
        '<div id="Vertical_v1_Announcements" class="Announcements"><ul>'
        + "".join(f"<li>{escape(item)}</li>" for item in items)
        + "</ul></div>"
    )
    html = page(
        title=label("announcements", lang),
        agent_name=agent.full_name,
        view_state=ViewState(page="Announcements"),
        body=body,
        active=urls.ANNOUNCEMENTS,
        lang=lang,
    )
    return web.Response(text=html, content_type="text/html")
