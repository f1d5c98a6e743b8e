"""List views: open, search, read rows, tick a row, run a toolbar command on the selection."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urljoin

from erp import selectors as sel
from erp.errors import ErpRejected, ErpUnavailable
from erp.waits import boundary, goto, set_value, wait_idle

Hook = Callable[[], Awaitable[None]]

_MONEY = re.compile(r"^-?[\d.]+(,\d+)?\s*€$")


def normalize(column: str, text: str) -> str:
    """Ids without thousands dots ("72.972" -> "72972"), amounts as plain decimals."""
    if column == "id":
        return text.replace(".", "")
    if _MONEY.match(text):
        return text.replace("€", "").strip().replace(".", "").replace(",", ".")
    return text


def parse_it_number(text: str) -> float | None:
    """Italian "1.234,5" -> 1234.5; empty -> None."""
    cleaned = text.replace("€", "").strip().replace(".", "").replace(",", ".")
    return float(cleaned) if cleaned else None


async def open_list(page: Any, erp_url: str, path: str, *, fresh: bool = False) -> None:
    """Go to a list view unless the page already shows it.

    The URL alone does not tell: after a failed load the page sits at the list's URL
    showing the server's error page, so the list's search box must be there too.
    """
    if fresh or path not in page.url or await page.querySelector(sel.SEARCH_INPUT) is None:
        await goto(page, urljoin(erp_url, path), f"open {path}")
    await wait_idle(page, f"open {path}")


async def search(page: Any, text: str) -> None:
    """Filter the list with its search box (Enter starts the callback)."""
    step = f"search the list for {text!r}"
    await set_value(page, sel.SEARCH_INPUT, text, step)
    async with boundary(page, step):
        await page.keyboard.press("Enter")
    await wait_idle(page, step)


async def read_grid(page: Any, grid: str = sel.LIST_GRID) -> dict[str, Any]:
    """{rows: [{lowercase column: text}], total, page_index, page_count} of a grid as shown."""
    async with boundary(page, f"read grid {grid}"):
        data: dict[str, Any] | None = await page.evaluate(sel.READ_GRID_JS, grid, sel.DATA_ROW)
    if data is None:
        raise ErpUnavailable(f"the page {page.url} has no grid {grid}")
    return data


async def find_row(
    page: Any, erp_url: str, path: str, text: str, match: Callable[[dict[str, str]], bool]
) -> tuple[int, dict[str, str]] | None:
    """Search a list for `text`; the (row index, row) that `match` accepts, or None."""
    await open_list(page, erp_url, path)
    await search(page, text)
    rows = (await read_grid(page))["rows"]
    for index, row in enumerate(rows):
        if match(row):
            return index, row
    return None


async def row_element(page: Any, index: int, selector: str) -> Any:
    """An element inside the `index`-th data row of the list grid."""
    rows = await page.querySelectorAll(sel.LIST_ROWS)
    if index >= len(rows):
        raise ErpUnavailable(f"the list changed under us: no row {index}")
    element = await rows[index].querySelector(selector)
    if element is None:
        raise ErpUnavailable(f"row {index} of the list has no {selector}")
    return element


async def open_row(page: Any, index: int, step: str) -> None:
    """Click a row's pencil ("Modifica") and wait for its detail view."""
    async with boundary(page, step):
        pencil = await row_element(page, index, sel.EDIT_PENCIL)
        navigation = asyncio.ensure_future(
            page.waitForNavigation({"waitUntil": "domcontentloaded"})
        )
        await pencil.click()
        response = await navigation
    await wait_idle(page, step)
    if response is not None and response.status >= 500:
        raise ErpUnavailable(f"{step}: the ERP answered HTTP {response.status}")


@asynccontextmanager
async def accepting_dialogs(page: Any) -> AsyncIterator[list[str]]:
    """Accept every confirm() while inside; yields the texts of the dialogs seen."""
    seen: list[str] = []

    def on_dialog(dialog: Any) -> None:
        seen.append(dialog.message)
        asyncio.ensure_future(dialog.accept())

    page.on("dialog", on_dialog)
    try:
        yield seen
    finally:
        page.remove_listener("dialog", on_dialog)


async def clear_popup(page: Any) -> None:
    async with boundary(page, "clear the error popup"):
        await page.evaluate(
            "(s) => { const e = document.querySelector(s); if (e) { e.textContent = ''; e.style.display = 'none'; } }",
            sel.CALLBACK_ERROR,
        )


async def popup_text(page: Any) -> str:
    async with boundary(page, "read the error popup"):
        text: str = await page.evaluate(
            """(s) => { const e = document.querySelector(s);
                return e && e.getClientRects().length > 0 ? e.textContent.trim() : ''; }""",
            sel.CALLBACK_ERROR,
        )
    return text


def raise_popup(text: str, step: str, field: str) -> None:
    """A callback's error popup: a server failure is ErpUnavailable, anything else ErpRejected."""
    if not text:
        return
    if any(text.startswith(prefix) for prefix in sel.SERVER_FAILURE_TEXTS):
        raise ErpUnavailable(f"{step}: {text}")
    raise ErpRejected(text, field=field)


async def run_on_row(
    page: Any,
    index: int,
    tool_text: str,
    step: str,
    *,
    field: str,
    before_commit: Hook | None,
    after_click: Hook | None,
) -> None:
    """Tick row `index`, click the toolbar item `tool_text`, accept its confirm(), wait.

    The toolbar click is the irreversible step: `before_commit` runs right before it,
    `after_click` right after it was dispatched, before the callback's answer is awaited.
    """
    await clear_popup(page)
    async with boundary(page, step):
        checkbox = await row_element(page, index, sel.SELECT_CHECK)
        await checkbox.click()
        tool_id = await page.evaluate(
            """(linkSel, text, disabled) => {
                const a = [...document.querySelectorAll(linkSel)].find(e => e.textContent.trim() === text);
                if (!a) return null;
                return a.closest('li').classList.contains(disabled) ? '' : a.id;
            }""",
            sel.TOOLBAR_LINKS,
            tool_text,
            sel.DISABLED_TOOL,
        )
    if tool_id is None:
        raise ErpUnavailable(f"{step}: the toolbar has no {tool_text!r}")
    if not tool_id:
        raise ErpUnavailable(f"{step}: {tool_text!r} stayed disabled after selecting the row")
    if before_commit is not None:
        await before_commit()
    async with accepting_dialogs(page) as dialogs:
        async with boundary(page, step):
            await page.click(f"#{tool_id}")
        if after_click is not None:
            await after_click()
        await wait_idle(page, step)
    if not dialogs:
        raise ErpUnavailable(f"{step}: {tool_text!r} asked no confirmation")
    raise_popup(await popup_text(page), step, field)
