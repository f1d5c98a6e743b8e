"""List views: open, search, read rows, tick a row, run a toolbar command on the selection."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from erp import culture as culture_parse
from erp import selectors as sel
from erp import steps
from erp.errors import ErpError, ErpRejected, ErpUnavailable
from erp.waits import (
    DEFAULT_CALLBACK_TIMEOUT_MS,
    accepting_dialogs,
    boundary,
    check_same_host,
    goto,
    set_value,
    wait_idle,
)

Hook = Callable[[], Awaitable[None]]
log = logging.getLogger(__name__)
_FILTER_PREFIX = re.compile(r"^xaf_xaf_a\d+")

def normalize(column: str, text: str, culture: str | None = None) -> str:
    """A cell as plain data, whichever culture the browser showed it in.

    Ids lose their thousands separators ("51,847"/"51.847" -> "51847"), numeric columns become
    plain decimals ("250,01 EUR" -> "250.01"), date columns ISO ("3/28/2026 6:24:57 AM" ->
    "2026-03-28T06:24:57"); other columns (ACCOUNTNUM, SALESID…) stay text.
    """
    if not text:
        return text
    if column == "id":
        return culture_parse.parse_int_id(text)
    if column in sel.NUMBER_FIELDS:
        value = culture_parse.parse_number(text, culture)
        return text if value is None else f"{value:.10g}"
    if column in sel.DATE_FIELDS:
        when = culture_parse.parse_datetime(text, culture)
        return text if when is None else when.isoformat()
    return text


def parse_number(text: str, culture: str | None = None) -> float | None:
    """A number as either culture shows it ("1.234,5", "1,234.5", "63,00 %"); empty -> None."""
    return culture_parse.parse_number(text, culture)


async def find_control(page: Any, pattern: str, step: str, method: str | None = None) -> str:
    """The client name of the control matching `pattern` (and having `method`).

    Found through `ASPxClientControl.GetControlCollection()`, never by a fixed id: the real
    page draws part of every name anew on each visit.
    """
    async with boundary(page, step):
        name: str | None = await page.evaluate(sel.FIND_CONTROL_JS, pattern, method)
    if not name:
        raise ErpUnavailable(f"{step}: the page {page.url} has no control matching {pattern}")
    return name


async def list_grid(page: Any, step: str, suffix: str = "") -> str:
    """The list view's grid (`Vertical_v{N}_{number}_LE_v{N}`), by its stable suffix."""
    pattern = rf"^Vertical_v\d+_\d+{re.escape(suffix)}$" if suffix else sel.LIST_GRID_PATTERN
    return await find_control(page, pattern, step, "GetColumn")


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


async def read_grid(page: Any, name: str | None = None) -> dict[str, Any]:
    """{rows: [{lowercase field: text}], fields, total, page_index, page_count} of a grid.

    Columns come from the grid's API by field name (captions are null on the real grid).
    `name` defaults to the page's list grid.
    """
    step = f"read grid {name or 'of the list'}"
    name = name or await list_grid(page, step)
    async with boundary(page, step):
        data: dict[str, Any] | None = await page.evaluate(sel.READ_GRID_JS, name, sel.DATA_ROW)
    if data is None:
        raise ErpUnavailable(f"the page {page.url} has no grid {name}")
    data["name"] = name
    return data


async def page_row_values(page: Any, name: str, fields: tuple[str, ...]) -> list[list[str]]:
    """GetPageRowValues: invariant values of `fields` (hidden columns too) per row on the page.

    One server callback, as the real grid (used for embedded grids' hidden columns).
    """
    step = f"read {list(fields)} of grid {name}"
    try:
        async with boundary(page, step):
            values: list[list[Any]] = await asyncio.wait_for(
                page.evaluate(sel.PAGE_ROW_VALUES_JS, name, list(fields)),
                DEFAULT_CALLBACK_TIMEOUT_MS / 1000,
            )
    except TimeoutError as exc:
        raise ErpUnavailable(f"{step}: GetPageRowValues did not answer") from exc
    return [[str(v) for v in row] for row in values]


def require_fields(data: dict[str, Any], fields: tuple[str, ...], step: str) -> None:
    """Fail closed: a lookup that cannot see a column it needs is a transient error."""
    missing = [f for f in fields if f not in data["fields"]]
    if missing:
        raise ErpUnavailable(
            f"{step}: the list does not show the column(s) {missing} (shown: {data['fields']});"
            " cannot tell whether the record exists"
        )


@dataclass
class ListState:
    """What the server remembers of a list for this user: page, page size and filter."""

    page_index: int
    page_size: int | None
    combo: str | None
    filter: str | None
    items: list[dict[str, str]]

    def all_value(self) -> str | None:
        """The value of the filter item that shows everything, if the list has a filter."""
        for item in self.items:
            value, text = item["value"], item["text"].strip().lower()
            if value.endswith(sel.FILTER_ALL_VALUES) or text in sel.FILTER_ALL_TEXTS:
                return value
        return None


async def list_state(page: Any, name: str, step: str) -> ListState:
    async with boundary(page, step):
        raw = await page.evaluate(sel.LIST_STATE_JS, name, sel.FILTER_COMBO_PATTERN)
    return ListState(
        page_index=int(raw["page_index"]),
        page_size=raw["page_size"],
        combo=raw["combo"],
        filter=raw["filter"],
        items=raw["items"],
    )


async def _set_filter(page: Any, combo: str, value: str, step: str) -> None:
    """Choose a filter item: the real page then reloads the whole view."""
    here = page.url
    async with boundary(page, step):
        navigation = asyncio.ensure_future(
            page.waitForNavigation({"waitUntil": "domcontentloaded"})
        )
        await page.evaluate(
            "(c, v) => ASPxClientControl.GetControlCollection().GetByName(c).SetValue(v)",
            combo,
            value,
        )
        with steps.step(steps.NAVIGATION):
            await navigation
    check_same_host(page, here, step)
    await wait_idle(page, step)


async def _set_page_size(page: Any, name: str, size: int, step: str) -> None:
    """Type the size into the pager's `_PSI` editor and apply it as its blur handler does."""
    async with boundary(page, step):
        await page.evaluate(
            """(g, size) => { const pager = g + '_DXPagerBottom';
                document.getElementById(pager + '_PSI').value = String(size);
                ASPx.POnPageSizeBlur(pager, null); }""",
            name,
            size,
        )
    await wait_idle(page, step)


async def goto_page(page: Any, name: str, index: int, step: str) -> None:
    async with boundary(page, step):
        await page.evaluate(
            "(g, i) => ASPxClientControl.GetControlCollection().GetByName(g).GotoPage(i)",
            name,
            index,
        )
    await wait_idle(page, step)


@asynccontextmanager
async def prepared_list(
    page: Any, erp_url: str, path: str, *, page_size: int | None = None, fresh: bool = False
) -> AsyncIterator[str]:
    """Open a list and show everything from its first page; yields the grid's name.

    The ERP remembers each user's filter, page size and page index across sessions, and the
    agent's own browser shares them: a list left on page 3 of "Orders from today" must be
    reset before anything is looked up, or "not found" would be a lie. When the state cannot
    be reset, ErpUnavailable (retry later). On the way out the agent's filter and page size
    are put back (when the page still shows the list).
    """
    step = f"prepare {path}"
    await open_list(page, erp_url, path, fresh=fresh)
    suffix = sel.LIST_SUFFIXES.get(path, "")
    name = await list_grid(page, step, suffix)
    before = await list_state(page, name, step)
    all_value = before.all_value()
    if before.combo and all_value is None:
        raise ErpUnavailable(f"{step}: the list filter offers no 'all' item: {before.items}")
    if before.combo and all_value and before.filter != all_value:
        await _set_filter(page, before.combo, all_value, f"{step}: show all")
        name = await list_grid(page, step, suffix)
    if page_size is not None and before.page_size != page_size:
        await _set_page_size(page, name, page_size, f"{step}: page size {page_size}")
    now = await list_state(page, name, step)
    if now.page_index != 0:
        await goto_page(page, name, 0, f"{step}: first page")
        now = await list_state(page, name, step)
    if (
        now.page_index != 0
        or (now.combo and now.filter != now.all_value())
        or (page_size is not None and now.page_size != page_size)
    ):
        raise ErpUnavailable(f"{step}: could not reset the list (state now {now})")
    try:
        yield name
    finally:
        await _restore(page, path, suffix, before, step)


def _item(value: str) -> str:
    """A filter value without its `xaf_xaf_a{k}` prefix, whose k drifts between visits."""
    return _FILTER_PREFIX.sub("", value)


async def _restore(page: Any, path: str, suffix: str, before: ListState, step: str) -> None:
    """Put back the agent's filter and page size; best effort, never masks the real outcome."""
    if path not in page.url:
        return
    try:
        name = await list_grid(page, step, suffix)
        now = await list_state(page, name, step)
        if before.page_size and now.page_size != before.page_size:
            await _set_page_size(page, name, before.page_size, f"{step}: restore page size")
        if before.filter and now.combo and now.filter and _item(now.filter) != _item(before.filter):
            value = next(
                (i["value"] for i in now.items if _item(i["value"]) == _item(before.filter)), None
            )
            if value is not None:
                await _set_filter(page, now.combo, value, f"{step}: restore filter")
    except ErpError as exc:
        log.warning("could not put back the list state of %s: %s", path, exc)


async def find_row(
    page: Any,
    erp_url: str,
    path: str,
    text: str,
    match: Callable[[dict[str, str]], bool],
    *,
    need: tuple[str, ...] = ("id",),
) -> tuple[int, dict[str, str]] | None:
    """Search a list for `text`; the (row index, row) that `match` accepts, or None.

    The list's remembered state is reset first and every page of the result is read, so
    None means the ERP does not show the row — never that it was hidden (fail closed).
    The agent's list state is put back afterwards: to act on the row, use `prepared_list`
    and `find_in_list` instead.
    """
    async with prepared_list(page, erp_url, path) as name:
        return await find_in_list(page, name, text, match, need=need)


async def find_in_list(
    page: Any,
    name: str,
    text: str,
    match: Callable[[dict[str, str]], bool],
    *,
    need: tuple[str, ...] = ("id",),
) -> tuple[int, dict[str, str]] | None:
    """In a prepared list: search `text` and read every result page; the matching row or None.

    The list is left on the page holding the row, for an action on it.
    """
    step = f"find {text!r} in the list"
    await search(page, text)
    while True:
        data = await read_grid(page, name)
        require_fields(data, need, step)
        for index, row in enumerate(data["rows"]):
            if match(row):
                return index, row
        if data["page_index"] + 1 >= data["page_count"]:
            return None
        await goto_page(page, name, data["page_index"] + 1, f"{step}: next page")


async def row_element(page: Any, index: int, selector: str) -> Any:
    """An element inside the `index`-th data row of the list grid."""
    name = await list_grid(page, f"row {index}")
    rows = [r for r in await page.querySelectorAll(f"#{name} {sel.DATA_ROW}")]
    if index >= len(rows):
        raise ErpUnavailable(f"the list changed under us: no row {index}")
    element = await rows[index].querySelector(selector)
    if element is None:
        raise ErpUnavailable(f"row {index} of the list has no {selector}")
    return element


async def open_row(page: Any, index: int, step: str) -> None:
    """Click a row's pencil ("Modifica") and wait for its detail view."""
    here = page.url
    async with boundary(page, step):
        pencil = await row_element(page, index, sel.EDIT_ROW_LINK)
        navigation = asyncio.ensure_future(
            page.waitForNavigation({"waitUntil": "domcontentloaded"})
        )
        await pencil.click()
        with steps.step(steps.NAVIGATION):
            response = await navigation
    check_same_host(page, here, step)
    await wait_idle(page, step)
    if response is not None and response.status >= 500:
        raise ErpUnavailable(f"{step}: the ERP answered HTTP {response.status}")


#: The id of the confirming button ("OK"/"Sì"/"Yes"/"Conferma") of the visible XAF popup.
_CONFIRM_BUTTON_JS = """(popupSel, buttonSel, texts) => {
    const popup = [...document.querySelectorAll(popupSel)]
        .find(p => p.getClientRects().length > 0);
    if (!popup) return null;
    const button = [...popup.querySelectorAll(buttonSel)]
        .find(b => texts.includes(b.textContent.trim().toLowerCase()));
    if (!button) return null;
    if (!button.id) button.id = 'archibot-confirm-' + Date.now();
    return button.id;
}"""


async def confirm_popup(page: Any, step: str) -> None:
    """Answer the XAF confirmation popup (a DevExpress popup window, not confirm()) with its
    OK/Sì/Yes button, by a real click (FACTS §3: line delete). ErpUnavailable if none shows."""
    async with boundary(page, step):
        await page.waitForSelector(
            sel.XAF_POPUP, {"visible": True, "timeout": DEFAULT_CALLBACK_TIMEOUT_MS}
        )
        button = await page.evaluate(
            _CONFIRM_BUTTON_JS, sel.XAF_POPUP, sel.XAF_POPUP_BUTTONS, list(sel.XAF_CONFIRM_TEXTS)
        )
        if not button:
            raise ErpUnavailable(f"{step}: the confirmation popup has no OK/Sì/Yes button")
        await page.click(f'[id="{button}"]')


async def clear_popup(page: Any) -> None:
    """Hide the XAF error panel, so that a message seen later is new."""
    async with boundary(page, "clear the error panel"):
        await page.evaluate(
            """(panelSel, textSel) => { const p = document.querySelector(panelSel);
                if (p) p.style.display = 'none';
                const t = document.querySelector(textSel); if (t) t.textContent = ''; }""",
            sel.ERROR_PANEL,
            sel.ERROR_TEXT,
        )


async def popup_text(page: Any) -> str:
    """The text of the XAF error panel when it shows; '' otherwise."""
    async with boundary(page, "read the error panel"):
        text: str = await page.evaluate(
            """(panelSel, textSel) => { const p = document.querySelector(panelSel);
                if (!p || p.getClientRects().length === 0) return '';
                const t = document.querySelector(textSel); return t ? t.textContent.trim() : ''; }""",
            sel.ERROR_PANEL,
            sel.ERROR_TEXT,
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
    tool_texts: tuple[str, ...],
    step: str,
    *,
    field: str,
    before_commit: Hook | None,
    after_click: Hook | None,
) -> None:
    """Tick row `index`, click the toolbar item named by one of `tool_texts`, accept, wait;
    the error panel's message raised (`raise_popup`)."""
    text = await run_on_rows(
        page, (index,), tool_texts, step, before_commit=before_commit, after_click=after_click
    )
    raise_popup(text, step, field)


#: Rows the list grid holds selected: across pages where the grid can count them (the real
#: ASPxClientGridView), else those ticked on the page.
_SELECTED_COUNT_JS = """(name) => {
    const g = ASPxClientControl.GetControlCollection().GetByName(name);
    return g.GetSelectedRowCount ? g.GetSelectedRowCount() : g.GetSelectedKeysOnPage().length;
}"""


async def run_on_rows(
    page: Any,
    indexes: tuple[int, ...],
    tool_texts: tuple[str, ...],
    step: str,
    *,
    before_commit: Hook | None,
    after_click: Hook | None,
) -> str:
    """Tick the data rows `indexes` together, click the toolbar item named by one of
    `tool_texts` once, accept its confirm(), wait; the error panel's text after ('' if none).

    One list action for every ticked row: one confirm, one write on the server. The grid's
    selection is checked on both sides of the ticks — empty before, exactly these rows after —
    so a tick left over or a click that toggled a row off never acts on an order nobody asked
    for. The toolbar click is the irreversible step: `before_commit` runs right before it,
    `after_click` right after it was dispatched, before the callback's answer is awaited.
    """
    if not indexes:
        raise ValueError("run_on_rows needs at least one row")
    await clear_popup(page)
    name = await list_grid(page, step)
    async with boundary(page, step):
        already: int = await page.evaluate(_SELECTED_COUNT_JS, name)
    if already:
        raise ErpUnavailable(f"{step}: {already} row(s) were selected before ticking")
    async with boundary(page, step):
        for index in indexes:
            checkbox = await row_element(page, index, sel.SELECT_CHECK)
            await checkbox.click()
        selected: int = await page.evaluate(_SELECTED_COUNT_JS, name)
        tool_id = await page.evaluate(
            """(linkSel, texts, disabled) => {
                const wanted = texts.map(t => t.toLowerCase());
                const a = [...document.querySelectorAll(linkSel)]
                    .find(e => wanted.includes(e.textContent.trim().toLowerCase()));
                if (!a) return null;
                return a.closest('li').classList.contains(disabled) ? '' : a.id;
            }""",
            sel.TOOLBAR_LINKS,
            list(tool_texts),
            sel.DISABLED_TOOL,
        )
    if selected != len(indexes):
        raise ErpUnavailable(f"{step}: {selected} row(s) selected after ticking {len(indexes)}")
    if tool_id is None:
        raise ErpUnavailable(f"{step}: the toolbar has none of {tool_texts}")
    if not tool_id:
        raise ErpUnavailable(f"{step}: {tool_texts[0]!r} stayed disabled after selecting rows")
    if before_commit is not None:
        await before_commit()
    async with accepting_dialogs(page) as dialogs:
        async with boundary(page, step):
            await page.click(f"#{tool_id}")
        if after_click is not None:
            await after_click()
        await wait_idle(page, step)
    if not dialogs:
        raise ErpUnavailable(f"{step}: {tool_texts[0]!r} asked no confirmation")
    return await popup_text(page)
