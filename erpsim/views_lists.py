"""List views (orders, customers, products, empty journals) and their grid callbacks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from aiohttp import web

from erpsim import urls
from erpsim.callbacks import Callback, reply
from erpsim.config import DEFAULT_PAGE_SIZE
from erpsim.culture import label, lang_of
from erpsim.errors import SimValidation
from erpsim.fmt import fmt_datetime, fmt_int, fmt_iso_date, fmt_money
from erpsim.html_grid import GridPage, GridRow, grid_control, grid_inner, paginate
from erpsim.html_layout import ToolItem, page
from erpsim.model import Order
from erpsim.sim import Sim, session_of, sim_of
from erpsim.viewstate import ViewState
from erpsim.writes import commit_write

LIST_GRID = "Vertical_v1_LE_v2"
SEARCH_INPUT = "Vertical_SearchAC_Menu_ITCNT0_xaf_a0_Ed_I"
MAX_PAGE_SIZE = 200

ORDER_COLUMNS = (
    "ID",
    "SALESID",
    "CUSTACCOUNT",
    "SALESNAME",
    "DELIVERYNAME",
    "DLVADDRESS",
    "CREATEDDATETIME",
    "DELIVERYDATE",
    "PURCHORDERFORMNUM",
    "CUSTOMERREF",
    "SALESSTATUS",
    "DOCUMENTSTATUS",
    "TRANSFERSTATUS",
    "TRANSFERDATE",
    "GROSSAMOUNT",
)
CUSTOMER_COLUMNS = (
    "ID",
    "ACCOUNTNUM",
    "NAME",
    "VATNUM",
    "LEGALEMAIL",
    "FISCALCODE",
    "STREET",
    "ZIP",
    "CITY",
    "PHONE",
)
PRODUCT_COLUMNS = ("ITEMID", "NAME", "DESCRIPTION", "ITEMGROUPID", "PACKAGES", "PRICE")

RowSource = Callable[[Sim, str, str], list[GridRow]]


@dataclass(frozen=True)
class ListSpec:
    """One list view: its title, URL, columns, rows and toolbar."""

    title: str
    url: str
    columns: tuple[str, ...]
    rows: RowSource
    tools: tuple[ToolItem, ...]


def order_row(order: Order) -> GridRow:
    cells = (
        fmt_int(order.id),
        order.sales_id,
        order.customer or "",
        order.customer_name,
        order.customer_name,
        order.delivery_address,
        fmt_datetime(order.created),
        fmt_iso_date(order.delivery_date),
        order.purch_order_num,
        order.reference,
        order.status,
        "",
        order.transfer_status,
        fmt_datetime(order.transfer_date),
        fmt_money(order.gross_amount_eur),
    )
    return GridRow(
        key=str(order.id), cells=cells, edit_href=f"{urls.order_detail(order.id)}?mode=Edit"
    )


def _order_rows(sim: Sim, agent: str, search: str) -> list[GridRow]:
    return [order_row(o) for o in sim.state.agent_orders(agent, search)]


def _customer_rows(sim: Sim, agent: str, search: str) -> list[GridRow]:
    return [
        GridRow(
            key=c.account,
            edit_href=f"{urls.customer_detail(c.id)}?mode=Edit",
            cells=(
                fmt_int(c.id),
                c.account,
                c.name,
                c.vat_number,
                c.email,
                c.fiscal_code,
                c.street,
                c.zip_code,
                c.city,
                c.phone,
            ),
        )
        for c in sim.state.search_customers(agent, search)
    ]


def _product_rows(sim: Sim, agent: str, search: str) -> list[GridRow]:
    return [
        GridRow(
            key=p.item_id,
            cells=(
                p.item_id,
                p.name,
                p.description,
                p.group,
                "; ".join(f"{v.variant_id} ({v.package_content} pz)" for v in p.variants),
                fmt_money(p.price_eur),
            ),
        )
        for p in sim.state.search_products(search)
    ]


def _empty_rows(sim: Sim, agent: str, search: str) -> list[GridRow]:
    return []


REFRESH = ToolItem("Aggiorna", "Refresh")
SPECS = {
    urls.ORDERS: ListSpec(
        "Ordini",
        urls.ORDERS,
        ORDER_COLUMNS,
        _order_rows,
        (
            ToolItem("Nuovo", "New", href=urls.NEW_ORDER),
            ToolItem("Cancellare", "Delete", needs_selection=True),
            ToolItem("invia ordine/i", "Send", needs_selection=True),
            REFRESH,
        ),
    ),
    urls.CUSTOMERS: ListSpec(
        "Clienti",
        urls.CUSTOMERS,
        CUSTOMER_COLUMNS,
        _customer_rows,
        (ToolItem("Nuovo", "New", href=urls.NEW_CUSTOMER), REFRESH),
    ),
    urls.PRODUCTS: ListSpec("Articoli", urls.PRODUCTS, PRODUCT_COLUMNS, _product_rows, (REFRESH,)),
    urls.PACKING_SLIPS: ListSpec(
        "Documenti di trasporto",
        urls.PACKING_SLIPS,
        ("ID", "PACKINGSLIPID", "DELIVERYDATE"),
        _empty_rows,
        (REFRESH,),
    ),
    urls.INVOICES: ListSpec(
        "Fatture",
        urls.INVOICES,
        ("ID", "INVOICEID", "INVOICEDATE", "INVOICEAMOUNT"),
        _empty_rows,
        (REFRESH,),
    ),
}


def grid_page(
    sim: Sim, spec: ListSpec, agent: str, page_index: int, page_size: int, search: str
) -> GridPage:
    rows = spec.rows(sim, agent, search)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    visible, index = paginate(rows, page_index, page_size)
    return GridPage(tuple(visible), len(rows), index, page_size, search)


async def list_view(request: web.Request) -> web.StreamResponse:
    """GET a list view, or answer its grid callback."""
    sim = sim_of(request)
    spec = SPECS[request.path]
    session = session_of(request)
    callback: Callback | None = request.get("callback")
    if callback is not None:
        return _list_callback(sim, spec, session.agent, callback)
    grid = grid_page(sim, spec, session.agent, 0, DEFAULT_PAGE_SIZE, "")
    search = (
        f'<div id="Vertical_SearchAC" class="SearchActionContainer">'
        f'<input id="{SEARCH_INPUT}" class="dxeEditArea_XafTheme" type="text" '
        f'placeholder="Cerca..." autocomplete="off" data-dx-search="{LIST_GRID}"></div>'
    )
    body = search + grid_control(LIST_GRID, grid_inner(LIST_GRID, spec.columns, grid), grid.state())
    agent = sim.state.agents[session.agent]
    html = page(
        title=spec.title,
        agent_name=agent.full_name,
        view_state=ViewState(page=spec.url),
        body=body,
        tools=spec.tools,
        active=spec.url,
    )
    return web.Response(text=html, content_type="text/html")


def _list_callback(sim: Sim, spec: ListSpec, agent: str, callback: Callback) -> web.Response:
    param = callback.param
    page_index = _int(param.get("page"), 0)
    page_size = _int(param.get("page_size"), DEFAULT_PAGE_SIZE)
    search = str(param.get("search") or "")
    error = None
    command = callback.command
    if command == "SEARCH":
        page_index = 0
    elif command in ("Delete", "Send") and spec.url == urls.ORDERS:
        error = _order_action(sim, agent, command, param.get("keys") or [])
    grid = grid_page(sim, spec, agent, page_index, page_size, search)
    inner = grid_inner(LIST_GRID, spec.columns, grid)
    return reply(
        control=LIST_GRID, updates={f"{LIST_GRID}_CC": inner}, state=grid.state(), error=error
    )


def _order_action(sim: Sim, agent: str, command: str, keys: list[str]) -> str | None:
    """Cancellare / invia ordine/i on the selected rows: one write; an Italian error or None."""

    def commit() -> None:
        for key in keys:
            order_id = _int(key, -1)
            if command == "Delete":
                sim.state.delete_order(agent, order_id)
            else:
                sim.state.send_order(agent, order_id)

    if not keys:
        return "Selezionare almeno una riga."
    try:
        commit_write(sim, "order_delete" if command == "Delete" else "order_send", commit)
    except SimValidation as exc:
        return exc.message
    return None


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


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
