"""Detail views: toolbar save, validation banner, header fields, embedded grids, controls.

Texts are matched in Italian and English (FACTS §0) and controls are found through the
client control collection by name and role, never by a fixed id (their ids carry a random
number per visit).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from erp import grid, steps
from erp import selectors as sel
from erp.errors import ErpUnavailable
from erp.waits import (
    DEFAULT_NAV_TIMEOUT_MS,
    SERVER_ERROR_STATUS,
    boundary,
    check_not_login,
    check_same_host,
    goto,
    wait_idle,
)

Hook = Callable[[], Awaitable[None]]

#: The toolbar item (its `_T` link id) whose text is one of `texts`; "" when missing.
_TOOL_JS = """(linkSel, texts) => {
  const a = [...document.querySelectorAll(linkSel)]
    .find(e => texts.includes(e.textContent.trim()) && e.getClientRects().length > 0);
  return a ? a.id : '';
}"""


async def find_control(
    page: Any, step: str, *, part: str = "", suffix: str = "", role: str = ""
) -> str:
    """The client name of a control containing `part`, ending with `suffix`, having `role`."""
    pattern = f"{re.escape(part)}.*{re.escape(suffix)}$"
    return await grid.find_control(page, pattern, step, role or None)


async def tool_link(page: Any, texts: tuple[str, ...], step: str) -> str:
    """The id of the visible toolbar link showing one of `texts`; ErpUnavailable if none."""
    async with boundary(page, step):
        ident: str = await page.evaluate(_TOOL_JS, sel.TOOLBAR_ITEM_LINKS, list(texts))
    if not ident:
        raise ErpUnavailable(f"{step}: the toolbar shows none of {list(texts)} ({page.url})")
    return ident


async def click_to_navigate(
    page: Any, target: str, step: str, after_click: Hook | None = None
) -> int | None:
    """Click `target` and wait for the page it leads to; its HTTP status (None: no response).

    `after_click` runs right after the click, before the answer. Login.aspx is SessionExpired;
    a page on another host than the one clicked on is ErpLeftHost.
    """
    here = page.url
    async with boundary(page, step):
        navigation = asyncio.ensure_future(
            page.waitForNavigation(
                {"waitUntil": "domcontentloaded", "timeout": DEFAULT_NAV_TIMEOUT_MS}
            )
        )
        try:
            await page.click(target)
            if after_click is not None:
                await after_click()
        except BaseException:
            navigation.cancel()
            raise
        with steps.step(steps.NAVIGATION):
            response = await navigation
    check_same_host(page, here, step)
    check_not_login(page, step)
    return None if response is None else int(response.status)


async def click_save(page: Any, step: str, *, close: bool, after_click: Hook | None = None) -> None:
    """ "Salvare"/"Save" (stay on the object), or its popout's "Salva e chiudi"/"Save and Close".

    A 5xx answer is ErpUnavailable (the save may or may not have committed); Login.aspx
    is SessionExpired. `after_click` runs right after the click, before the answer.
    """
    save = await tool_link(page, sel.SAVE_TEXTS, step)
    target = f'[id="{save}"]'
    if close:
        async with boundary(page, step):
            # "Salvare" DXI{n}_T opens nothing: its popout arrow DXI{n}_P holds the item.
            await page.click(f'[id="{save[: -len("_T")]}_P"]')
        target = f'[id="{await tool_link(page, sel.SAVE_AND_CLOSE_TEXTS, step)}"]'
    status = await click_to_navigate(page, target, step, after_click)
    if status is not None and status >= SERVER_ERROR_STATUS:
        raise ErpUnavailable(
            f"{step}: the ERP answered HTTP {status}; the save may or may not have happened"
        )


async def open_for_edit(page: Any, url: str, step: str) -> None:
    """Open a detail view, click "Modifica"/"Edit", wait for its `mode=Edit` page (FACTS §7)."""
    await goto(page, url, step)
    await wait_idle(page, step)
    edit = await tool_link(page, sel.EDIT_TEXTS, step)
    status = await click_to_navigate(page, f'[id="{edit}"]', step)
    if status is not None and status >= SERVER_ERROR_STATUS:
        raise ErpUnavailable(f"{step}: the ERP answered HTTP {status}")
    if "mode=edit" not in page.url.lower():
        raise ErpUnavailable(f"{step}: the edit mode did not open ({page.url})")
    await wait_idle(page, step)


async def open_tab(page: Any, texts: tuple[str, ...], step: str) -> None:
    """Show a detail tab by its text (IT or EN); a tab already shown is not clicked again.

    Clicking the selected tab posts back on the real ERP (FACTS §6), hence the check.
    """
    async with boundary(page, step):
        ident: str = await page.evaluate(
            """(texts) => {
                const li = [...document.querySelectorAll('li.dxtc-tab')]
                    .find(e => texts.includes(e.textContent.trim()));
                if (!li) return '';
                return li.classList.contains('dxtc-psi') ? '-' : li.id;
            }""",
            list(texts),
        )
        if ident and ident != "-":
            await page.click(f'[id="{ident}"]')
    if not ident:
        raise ErpUnavailable(f"{step}: the detail view has no tab {list(texts)}")


async def banner_text(page: Any) -> str:
    """The validation banner ("Data Validation Error: …") or ""."""
    async with boundary(page, "read the validation banner"):
        text: str = await page.evaluate(
            "(s) => { const e = document.querySelector(s); return e ? e.textContent.trim() : ''; }",
            sel.VALIDATION_BANNER,
        )
    return text


async def read_fields(page: Any, fields: list[str], *, edit: bool) -> dict[str, str]:
    """FIELD -> text of detail fields (inputs in edit mode, view elements otherwise); "" if absent."""
    selectors = {f: sel.field_input(f) if edit else sel.field_view(f) for f in fields}
    async with boundary(page, "read the detail fields"):
        values: dict[str, str] = await page.evaluate(
            f"""(selectors) => {{ const text = {sel.ELEMENT_TEXT_JS};
                return Object.fromEntries(Object.entries(selectors).map(
                    ([f, s]) => [f, text(document.querySelector(s))])); }}""",
            selectors,
        )
    return values


async def write_fields(page: Any, values: dict[str, str], step: str) -> None:
    """Set header inputs by FIELD, firing `input` and `change`; ErpUnavailable if one is missing."""
    by_selector = {sel.field_input(f): v for f, v in values.items()}
    async with boundary(page, step):
        missing = await page.evaluate(
            """(values) => Object.entries(values).filter(([s, v]) => {
                const e = document.querySelector(s);
                if (!e) return true;
                e.value = v;
                e.dispatchEvent(new Event('input', {bubbles: true}));
                e.dispatchEvent(new Event('change', {bubbles: true}));
                return false;
            }).map(([s]) => s)""",
            by_selector,
        )
    if missing:
        raise ErpUnavailable(f"{step}: the form has no field for {missing}")


async def read_embedded_grid(
    page: Any, name: str, hidden: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """Data rows of an embedded grid as {lowercase field: text}, columns through GetColumn.

    Every page is read (the order lines grid shows 20 rows a page, FACTS §2.12), from the
    first, and the grid is put back on the page it showed. `hidden` fields (not rendered)
    are added, as given, from one GetPageRowValues callback per page (invariant values).
    ErpUnavailable when the grid is missing, a page does not turn, or the counts disagree
    (rows read against the grid's GetRowCount()).
    """
    step = f"read grid {name}"
    data = await grid.read_grid(page, name)
    shown = int(data["page_index"])
    if shown != 0:
        data = await _turn_to(page, name, 0, step)
    rows: list[dict[str, str]] = []
    while True:
        page_rows: list[dict[str, str]] = data["rows"]
        if hidden and page_rows:
            values = await grid.page_row_values(page, name, hidden)
            if len(values) != len(page_rows):
                raise ErpUnavailable(
                    f"grid {name}: {len(page_rows)} rows but {len(values)} row values"
                )
            for row, extra in zip(page_rows, values, strict=True):
                row.update(dict(zip(hidden, extra, strict=True)))
        rows.extend(page_rows)
        index = int(data["page_index"])
        if index + 1 >= int(data["page_count"]):
            break
        data = await _turn_to(page, name, index + 1, step)
    if int(data["page_index"]) != shown:
        await _turn_to(page, name, shown, f"{step}: back to page {shown + 1}")
    total = int(data.get("total") or 0)
    if total and len(rows) != total:
        raise ErpUnavailable(f"grid {name}: read {len(rows)} rows of {total}")
    return rows


async def _turn_to(page: Any, name: str, index: int, step: str) -> dict[str, Any]:
    """Show page `index` of grid `name` (GotoPage, then idle); the grid as read there."""
    await grid.goto_page(page, name, index, f"{step}: page {index + 1}")
    data = await grid.read_grid(page, name)
    if int(data["page_index"]) != index:
        raise ErpUnavailable(
            f"{step}: the grid stayed on page {int(data['page_index']) + 1} instead of {index + 1}"
        )
    return data


async def show_grid_row(page: Any, name: str, row: int, step: str) -> str:
    """Show the page of grid `name` holding the row of visible index `row`; its row selector.

    Visible indices run across pages (row 25 is the 6th row of the second page at 20 a
    page); the rows' ids carry them (`{name}_DXDataRow25`).
    """
    selector = f'tr[id="{name}_DXDataRow{row}"]'
    data = await grid.read_grid(page, name)
    pages = [int(data["page_index"])] + [
        n for n in range(int(data["page_count"])) if n != int(data["page_index"])
    ]
    for n in pages:
        if n != int(data["page_index"]):
            data = await _turn_to(page, name, n, step)
        async with boundary(page, step):
            if await page.querySelector(selector) is not None:
                return selector
    raise ErpUnavailable(f"{step}: grid {name} has no row {row}")


async def read_view_fields(page: Any) -> dict[str, str]:
    """FIELD -> text of every view-mode field the detail view renders, on any tab."""
    async with boundary(page, "read the detail view's fields"):
        values: dict[str, str] = await page.evaluate(sel.VIEW_FIELDS_JS)
    return values
