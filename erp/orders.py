"""Orders in Archibald: submit a new order, find an order by the marker written into it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from erp import grid, order_form
from erp import selectors as sel
from erp.detail import (
    banner_text,
    click_save,
    read_embedded_grid,
    read_fields,
    show_grid_row,
    write_fields,
)
from erp.errors import ErpRejected, ErpUnavailable
from erp.waits import DEFAULT_UPDATE_EDIT_TIMEOUT_MS, accepting_dialogs, boundary, goto, wait_idle

MAX_MARKER_CHARS = 40

ProgressHook = Callable[[str], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]
#: Order attributes read from the detail view (FACTS §2.18 readback): FIELD of each.
_VIEW_FIELDS = ["CUSTTABLE", "TEXTEXTERNAL", "PURCHORDERFORMNUM", "TRANSFERSTATUS", "SALESID"]


@dataclass(frozen=True)
class OrderLine:
    """One line to order: an article code, a quantity, an optional discount % and variant."""

    article: str
    quantity: float
    discount: float | None = None
    variant: str | None = None


@dataclass(frozen=True)
class NewOrder:
    """An order to create for a customer (ACCOUNTNUM); delivery_date is ISO yyyy-mm-dd."""

    customer: str
    lines: tuple[OrderLine, ...]
    notes: str | None = None
    delivery_date: str | None = None
    discount: float | None = None


async def submit_order(
    page: Any,
    erp_url: str,
    order: NewOrder,
    *,
    marker: str,
    before_commit: Hook | None = None,
    on_progress: ProgressHook | None = None,
    after_click: Hook | None = None,
) -> str:
    """Create the order through the new-order form and save it; returns the ERP id ("72972").

    `marker` goes into PURCHORDERFORMNUM so a retry can find the order. `before_commit`
    is awaited right before the saving click; if it raises, nothing is saved.
    """
    if not marker or len(marker) > MAX_MARKER_CHARS:
        raise ValueError(f"marker must be 1..{MAX_MARKER_CHARS} characters, got {marker!r}")
    if not order.lines:
        raise ErpRejected("an order needs at least one line", field="lines")

    async def progress(text: str) -> None:
        if on_progress is not None:
            await on_progress(text)

    await goto(page, urljoin(erp_url, sel.NEW_ORDER), "open the new order form")
    await progress("form opened")
    await order_form.choose_customer(page, order.customer)
    await progress(f"customer {order.customer} chosen")
    order_id = ""
    for n, line in enumerate(order.lines, start=1):
        order_id = await order_form.add_line(page, line, n) or order_id
        await progress(f"line {n}/{len(order.lines)} added")
    await order_form.fill_header(page, order, marker)
    if not order_id:
        raise ErpUnavailable("the ERP did not assign an order id after the first line")
    if before_commit is not None:
        await before_commit()
    await _save_and_close(page, order_id, after_click)
    await progress(f"order {order_id} saved")
    return order_id


async def _save_and_close(page: Any, order_id: str, after_click: Hook | None = None) -> None:
    step = f"save order {order_id}"
    await click_save(page, step, close=True, after_click=after_click)
    if sel.ORDERS_LIST in page.url:
        return
    banner = await banner_text(page)
    if banner:
        raise ErpRejected(banner, field=None)
    raise ErpUnavailable(f"{step}: unexpected page after saving: {page.url}")


async def find_order_by_marker(page: Any, erp_url: str, marker: str) -> str | None:
    """Search the orders list for `marker` in the PURCHORDERFORMNUM column; the order id or None.

    None only when the list, reset to all orders from the first page and showing both the id
    and the PURCHORDERFORMNUM columns, has no such row; otherwise ErpUnavailable (fail closed).
    """
    column = sel.ORDER_MARKER_COLUMN
    found = await grid.find_row(
        page,
        erp_url,
        sel.ORDERS_LIST,
        marker,
        lambda row: row.get(column, "").strip() == marker,
        need=("id", column),
    )
    return re.sub(r"\D", "", found[1]["id"]) if found else None


@dataclass(frozen=True)
class OrderSnapshot:
    """A saved order as the ERP shows it."""

    id: str
    customer: str
    lines: tuple[OrderLine, ...]
    notes: str
    reference: str
    transfer_status: str
    sales_id: str
    sent: bool


def _same_id(order_id: str) -> Callable[[dict[str, str]], bool]:
    wanted = order_id.replace(".", "").strip()
    return lambda row: grid.normalize("id", row.get("id", "")) == wanted


async def _find_order_row(
    page: Any, erp_url: str, order_id: str
) -> tuple[int, dict[str, str]] | None:
    """Search the orders list for the id; leaves the list showing the result."""
    return await grid.find_row(page, erp_url, sel.ORDERS_LIST, order_id, _same_id(order_id))


async def _read_lines(page: Any) -> list[OrderLine]:
    """The SALESLINEs of the open detail view (view or edit mode), by column field name.

    Quantities and discounts are shown in the browser's culture; the package variant is a
    hidden column (ITEMID), read with GetPageRowValues.
    """
    step = "read the order lines"
    lines = await order_form.lines_grid(page, step)
    lang = await order_form.browser_lang(page)
    rows = await read_embedded_grid(page, lines, (sel.LINE_VARIANT,))
    needed = (sel.LINE_ARTICLE, sel.LINE_QUANTITY, sel.LINE_DISCOUNT)
    if rows and any(field not in rows[0] for field in needed):
        raise ErpUnavailable(f"{step}: the lines grid does not show {list(needed)}")
    return [
        OrderLine(
            article=row[sel.LINE_ARTICLE],
            quantity=grid.parse_number(row[sel.LINE_QUANTITY], lang) or 0.0,
            discount=grid.parse_number(row[sel.LINE_DISCOUNT], lang) or None,
            variant=row.get(sel.LINE_VARIANT) or None,
        )
        for row in rows
    ]


async def read_order(page: Any, erp_url: str, order_id: str) -> OrderSnapshot | None:
    """The order as saved in the ERP (list search, then its detail view); None if it doesn't exist."""
    if await _find_order_row(page, erp_url, order_id) is None:
        return None
    await goto(page, urljoin(erp_url, sel.order_view_url(order_id)), f"open order {order_id}")
    await wait_idle(page, f"open order {order_id}")
    fields = await read_fields(page, _VIEW_FIELDS, edit=False)
    status = fields["TRANSFERSTATUS"]
    if not status or not fields["CUSTTABLE"]:
        # Not the order's detail (an error page, a half-rendered view): never guess "sent"
        # from a blank — a reconcile would report a send that did not happen.
        raise ErpUnavailable(
            f"open order {order_id}: the detail view showed no transfer status ({page.url})"
        )
    lines = await _read_lines(page)
    return OrderSnapshot(
        id=order_id,
        customer=fields["CUSTTABLE"],
        lines=tuple(lines),
        notes=fields["TEXTEXTERNAL"],
        reference=fields["PURCHORDERFORMNUM"],
        transfer_status=status,
        sales_id=fields["SALESID"],
        sent=status not in sel.ORDER_EDITABLE_STATUSES,
    )


def _line_matches(want: OrderLine, have: OrderLine) -> bool:
    return want.article.upper() == have.article.upper() and (
        want.variant is None or want.variant == have.variant
    )


def _line_equal(want: OrderLine, have: OrderLine) -> bool:
    return (
        abs(want.quantity - have.quantity) < 1e-9
        and abs((want.discount or 0.0) - (have.discount or 0.0)) < 1e-9
    )


def plan_line_edit(
    current: list[OrderLine], wanted: tuple[OrderLine, ...]
) -> tuple[list[int], list[tuple[int, OrderLine]], list[OrderLine]]:
    """(rows to delete, (row, line) to change, lines to add) turning `current` into `wanted`.

    Lines match by (article, variant); a wanted line without a variant matches any variant.
    Exact variant matches are paired first.
    """
    free = set(range(len(current)))
    pairs: dict[int, int] = {}
    for exact in (True, False):
        for w, want in enumerate(wanted):
            if w in pairs or (exact and want.variant is None):
                continue
            for c in sorted(free):
                if _line_matches(want, current[c]):
                    pairs[w] = c
                    free.discard(c)
                    break
    changes = [(c, wanted[w]) for w, c in pairs.items() if not _line_equal(wanted[w], current[c])]
    additions = [want for w, want in enumerate(wanted) if w not in pairs]
    return sorted(free, reverse=True), sorted(changes, key=lambda p: p[0]), additions


async def _open_order_for_edit(page: Any, erp_url: str, order_id: str) -> None:
    """The order's pencil on the list → its detail in edit mode; ErpRejected if not editable."""
    async with grid.prepared_list(page, erp_url, sel.ORDERS_LIST) as name:
        found = await grid.find_in_list(page, name, order_id, _same_id(order_id))
        if found is None:
            raise ErpRejected(f"ordine {order_id} non trovato", field="order")
        await grid.open_row(page, found[0], f"open order {order_id} for editing")
    async with boundary(page, f"open order {order_id} for editing"):
        editable = await page.querySelector(sel.field_input("TEXTEXTERNAL"))
    if editable is None:
        banner = await banner_text(page)
        raise ErpRejected(banner or f"l'ordine {order_id} non è modificabile", field="order")


async def _click_in_line(page: Any, row: int, selector: str, step: str) -> str:
    """Click a command of line `row`; returns the lines grid's name."""
    lines = await order_form.lines_grid(page, step)
    # Past 20 lines the row is on another page of the grid (FACTS §2.12).
    row_selector = await show_grid_row(page, lines, row, step)
    async with boundary(page, step):
        button = await page.querySelector(f"{row_selector} {selector}")
        if button is None:
            raise ErpUnavailable(f"{step}: line {row} has no {selector}")
        await button.click()
    return lines


async def _delete_line(page: Any, row: int) -> None:
    """Delete line `row`: its delete button, then OK on the XAF confirmation popup (a
    DevExpress popup, not confirm(); a native dialog is accepted too) (FACTS §3)."""
    step = f"delete line {row}"
    async with accepting_dialogs(page) as dialogs:
        lines = await _click_in_line(page, row, sel.LINE_DELETE, step)
        if not dialogs:
            await grid.confirm_popup(page, step)
        await wait_idle(page, step)
    await order_form.raise_problems(page, step, "lines", lines)


async def _change_line(page: Any, row: int, line: OrderLine) -> None:
    step = f"change line {row} ({line.article})"
    lines = await _click_in_line(page, row, sel.LINE_START_EDIT, step)
    await wait_idle(page, step)
    lang = await order_form.browser_lang(page)
    editing = f'[id="{lines}"] {sel.EDITING_ROW}'
    async with boundary(page, step):
        await page.waitForSelector(f"{editing} {sel.QUANTITY_INPUT}", {"visible": True})
    await order_form.retype(
        page, f"{editing} {sel.QUANTITY_INPUT}", order_form.culture_number(line.quantity, lang), step
    )
    discount = "" if line.discount is None else order_form.culture_number(line.discount, lang)
    await order_form.retype(page, f"{editing} {sel.LINE_DISCOUNT_INPUT}", discount, step)
    async with boundary(page, step):
        await page.click(f"{editing} {sel.UPDATE_LINE}")
    await wait_idle(page, step, DEFAULT_UPDATE_EDIT_TIMEOUT_MS)
    await order_form.raise_problems(page, step, "lines", lines)
    await order_form.check_not_editing(page, lines, step)


async def apply_order_edit(
    page: Any,
    erp_url: str,
    order_id: str,
    lines: tuple[OrderLine, ...],
    *,
    notes: str | None = None,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> bool:
    """`edit_order`, telling whether anything had to be saved (False: already as wanted)."""
    if not lines:
        raise ErpRejected("an order needs at least one line", field="lines")
    await _open_order_for_edit(page, erp_url, order_id)
    current = await _read_lines(page)
    deletes, changes, additions = plan_line_edit(current, lines)
    current_notes = (await read_fields(page, ["TEXTEXTERNAL"], edit=True))["TEXTEXTERNAL"]
    notes_change = notes is not None and notes.strip() != current_notes
    if not (deletes or changes or additions or notes_change):
        return False
    for row, line in changes:  # before deletes, so the row numbers still hold
        await _change_line(page, row, line)
    for row in deletes:  # highest first
        await _delete_line(page, row)
    for n, line in enumerate(additions, start=1):
        await order_form.add_line(page, line, n)
    if notes_change:
        assert notes is not None
        await write_fields(page, {"TEXTEXTERNAL": notes.strip()}, f"write the notes of {order_id}")
    if before_commit is not None:
        await before_commit()
    await _save_and_close(page, order_id, after_click)
    return True


async def edit_order(
    page: Any,
    erp_url: str,
    order_id: str,
    lines: tuple[OrderLine, ...],
    *,
    notes: str | None = None,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> None:
    """Make the order's lines exactly `lines`, applying only the difference, then save.

    ErpRejected if the order doesn't exist or was already sent to Verona.
    """
    await apply_order_edit(
        page,
        erp_url,
        order_id,
        lines,
        notes=notes,
        before_commit=before_commit,
        after_click=after_click,
    )


async def _run_order_tool(
    page: Any,
    erp_url: str,
    order_id: str,
    tool: tuple[str, ...],
    step: str,
    before_commit: Hook | None,
    after_click: Hook | None,
) -> list[dict[str, str]]:
    """Find the order in the list, tick it, run a toolbar action on it; the list's rows after."""
    async with grid.prepared_list(page, erp_url, sel.ORDERS_LIST) as name:
        found = await grid.find_in_list(page, name, order_id, _same_id(order_id))
        if found is None:
            raise ErpRejected(f"ordine {order_id} non trovato", field="order")
        await grid.run_on_row(
            page,
            found[0],
            tool,
            step,
            field="order",
            before_commit=before_commit,
            after_click=after_click,
        )
        rows: list[dict[str, str]] = (await grid.read_grid(page, name))["rows"]
    return rows


async def delete_order(
    page: Any,
    erp_url: str,
    order_id: str,
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> None:
    """Tick the order, "Cancellare", confirm. ErpRejected(field="order") if missing or sent."""
    step = f"delete order {order_id}"
    rows = await _run_order_tool(
        page, erp_url, order_id, sel.DELETE_TOOL, step, before_commit, after_click
    )
    if any(_same_id(order_id)(row) for row in rows):
        raise ErpUnavailable(f"{step}: the order is still listed after deleting it")


async def send_to_verona(
    page: Any,
    erp_url: str,
    order_id: str,
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> str:
    """Tick the order, "invia ordine/i", confirm; returns its SALESID ("ORD/26000553").

    Irreversible. ErpRejected(field="order") if the order is missing or already sent.
    """
    step = f"send order {order_id} to Verona"
    rows = await _run_order_tool(
        page, erp_url, order_id, sel.SEND_TOOL, step, before_commit, after_click
    )
    row = next((r for r in rows if _same_id(order_id)(r)), None)
    if row is None or not row.get("salesid"):
        raise ErpUnavailable(f"{step}: no SALESID shown after sending")
    return str(row["salesid"])
