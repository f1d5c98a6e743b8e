"""Steps of the new-order form: customer lookup, one line at a time, header fields."""

from __future__ import annotations

import re
from typing import Any

from erp import selectors as sel
from erp.detail import write_fields
from erp.errors import ErpRejected, ErpUnavailable
from erp.waits import (
    DEFAULT_CALLBACK_TIMEOUT_MS,
    DEFAULT_UPDATE_EDIT_TIMEOUT_MS,
    boundary,
    set_value,
    wait_idle,
)

_ORDER_URL = re.compile(sel.ORDER_URL_PATTERN)

#: Reads what a callback left on the page: a line error row and the error popup.
_PROBLEMS_JS = """(lineErr, popup) => {
    const visible = (s) => { const e = document.querySelector(s);
        return e && e.getClientRects().length > 0 ? e.textContent.trim() : ''; };
    return [visible(lineErr), visible(popup)];
}"""


def italian_number(value: float) -> str:
    """2.5 -> "2,5"; 10.0 -> "10" (the ERP's editors want a decimal comma)."""
    if value == int(value):
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".").replace(".", ",")


def choose_variant(quantity: float, packages: list[tuple[str, float]]) -> str:
    """The variant whose package content divides the quantity (the largest such), else the first."""
    dividing = [
        (content, variant)
        for variant, content in packages
        if content > 0 and abs(quantity / content - round(quantity / content)) < 1e-9
    ]
    if dividing:
        return max(dividing)[1]
    return packages[0][0]


async def raise_problems(page: Any, step: str, field: str | None) -> None:
    async with boundary(page, step):
        line_error, popup_error = await page.evaluate(
            _PROBLEMS_JS, sel.LINE_ERROR, sel.CALLBACK_ERROR
        )
    if line_error:
        raise ErpRejected(line_error, field=field)
    if popup_error:
        raise ErpUnavailable(f"{step}: {popup_error}")


async def choose_customer(page: Any, account: str) -> None:
    """Open the customer lookup, search the account, click its row."""
    step = f"choose customer {account}"
    async with boundary(page, step):
        await page.waitForSelector(sel.CUSTOMER_BUTTON, {"timeout": DEFAULT_CALLBACK_TIMEOUT_MS})
        await page.click(sel.CUSTOMER_BUTTON)
        await page.waitForSelector(
            sel.CUSTOMER_POPUP, {"visible": True, "timeout": DEFAULT_CALLBACK_TIMEOUT_MS}
        )
    await set_value(page, sel.CUSTOMER_SEARCH, account, step)
    async with boundary(page, step):
        await page.keyboard.press("Enter")
    await wait_idle(page, step)
    async with boundary(page, step):
        index = await page.evaluate(
            """(rowSel, account) => {
                const rows = [...document.querySelectorAll(rowSel)];
                return rows.findIndex(tr => [...tr.cells].some(td => td.textContent.trim() === account));
            }""",
            sel.CUSTOMER_ROWS,
            account,
        )
        if index < 0:
            raise ErpRejected(
                f"cliente '{account}' non trovato nella ricerca clienti", field="customer"
            )
        rows = await page.querySelectorAll(sel.CUSTOMER_ROWS)
        await rows[index].click()
    await wait_idle(page, step)
    await raise_problems(page, step, "customer")


async def add_line(page: Any, line: Any, number: int) -> str | None:
    """Add one line through the inline grid; returns the order id once the URL carries it."""
    step = f"line {number} ({line.article})"
    async with boundary(page, step):
        await page.click(sel.ADD_LINE)
    await wait_idle(page, step)
    await set_value(page, sel.ARTICLE_INPUT, line.article, step)
    await wait_idle(page, step)
    async with boundary(page, step):
        packages = await page.evaluate(
            """(rowSel, article) => [...document.querySelectorAll(rowSel)]
                .map((tr, i) => [i, tr.cells[0].textContent.trim(), tr.cells[1].textContent.trim(),
                                 parseFloat(tr.cells[2].textContent.trim().replace(',', '.'))])
                .filter(r => r[1].toUpperCase() === article.toUpperCase())""",
            sel.ARTICLE_ROWS,
            line.article,
        )
    if not packages:
        raise ErpRejected(f"articolo '{line.article}' non trovato", field="article")
    by_variant = {variant: index for index, _, variant, _ in packages}
    if line.variant is not None:
        if line.variant not in by_variant:
            raise ErpRejected(
                f"variante '{line.variant}' non disponibile per {line.article}", field="variant"
            )
        variant = line.variant
    else:
        variant = choose_variant(line.quantity, [(v, content) for _, _, v, content in packages])
    async with boundary(page, step):
        rows = await page.querySelectorAll(sel.ARTICLE_ROWS)
        await rows[by_variant[variant]].click()
        await page.type(sel.QUANTITY_INPUT, italian_number(line.quantity))
        if line.discount is not None:
            await page.type(sel.DISCOUNT_INPUT, italian_number(line.discount))
        await page.click(sel.UPDATE_LINE)
    await wait_idle(page, step, DEFAULT_UPDATE_EDIT_TIMEOUT_MS)
    await raise_problems(page, step, "article")
    match = _ORDER_URL.search(page.url)
    return match.group(1) if match else None


async def fill_header(page: Any, order: Any, marker: str) -> None:
    """Write the marker, notes, delivery date and order discount in one go."""
    values = {"CUSTOMERREF": marker}
    if order.notes:
        values["NOTES"] = order.notes
    if order.delivery_date:
        year, month, day = order.delivery_date.split("-")
        values["DELIVERYDATE"] = f"{day}/{month}/{year}"
    if order.discount is not None:
        values["DISCPERCENT"] = italian_number(order.discount)
    await write_fields(page, values, "fill the order header")
