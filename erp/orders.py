"""Orders in Archibald: submit a new order, find an order by the marker written into it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from erp import order_form
from erp import selectors as sel
from erp.errors import ErpRejected, ErpUnavailable
from erp.waits import (
    DEFAULT_NAV_TIMEOUT_MS,
    SERVER_ERROR_STATUS,
    boundary,
    check_not_login,
    goto,
    set_value,
    wait_idle,
)

MAX_MARKER_CHARS = 40

ProgressHook = Callable[[str], Awaitable[None]]


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
    before_commit: Callable[[], Awaitable[None]] | None = None,
    on_progress: ProgressHook | None = None,
) -> str:
    """Create the order through the new-order form and save it; returns the ERP id ("72972").

    `marker` goes into the reference field so a retry can find the order. `before_commit`
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
    await _save_and_close(page, order_id)
    await progress(f"order {order_id} saved")
    return order_id


async def _save_and_close(page: Any, order_id: str) -> None:
    step = f"save order {order_id}"
    async with boundary(page, step):
        await page.click(sel.SAVE_MENU)
        await page.waitForSelector(
            sel.SAVE_AND_CLOSE, {"visible": True, "timeout": DEFAULT_NAV_TIMEOUT_MS}
        )
        navigation = asyncio.ensure_future(
            page.waitForNavigation(
                {"waitUntil": "domcontentloaded", "timeout": DEFAULT_NAV_TIMEOUT_MS}
            )
        )
        await page.click(sel.SAVE_AND_CLOSE)
        response = await navigation
    check_not_login(page, step)
    if response is not None and response.status >= SERVER_ERROR_STATUS:
        raise ErpUnavailable(
            f"{step}: the ERP answered HTTP {response.status}; the order may or may not exist"
        )
    if sel.ORDERS_LIST in page.url:
        return
    async with boundary(page, step):
        banner = await page.evaluate(
            "(s) => { const e = document.querySelector(s); return e ? e.textContent.trim() : ''; }",
            sel.VALIDATION_BANNER,
        )
    if banner:
        raise ErpRejected(banner, field=None)
    raise ErpUnavailable(f"{step}: unexpected page after saving: {page.url}")


async def find_order_by_marker(page: Any, erp_url: str, marker: str) -> str | None:
    """Search the orders list for `marker` in the reference column; the order id or None."""
    if sel.ORDERS_LIST not in page.url:
        await goto(page, urljoin(erp_url, sel.ORDERS_LIST), "open the orders list")
    step = f"search orders for {marker}"
    await wait_idle(page, step)
    await set_value(page, sel.SEARCH_INPUT, marker, step)
    async with boundary(page, step):
        await page.keyboard.press("Enter")
    await wait_idle(page, step)
    async with boundary(page, step):
        found = await page.evaluate(
            """(grid, rowSel, marker) => {
                const root = document.getElementById(grid);
                const heads = [...root.querySelectorAll('tr[id$="DXHeadersRow0"] td')]
                    .map(td => td.textContent.trim());
                const idCol = heads.indexOf('ID'), refCol = heads.indexOf('CUSTOMERREF');
                for (const tr of root.querySelectorAll(rowSel)) {
                    const cells = tr.cells;
                    if (cells[refCol] && cells[refCol].textContent.trim() === marker)
                        return cells[idCol].textContent.trim();
                }
                return null;
            }""",
            sel.LIST_GRID,
            sel.DATA_ROW,
            marker,
        )
    return re.sub(r"\D", "", found) if found else None
