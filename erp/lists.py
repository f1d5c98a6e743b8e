"""Paging through a whole list view for syncs, one page in memory at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Literal

from erp import culture as culture_parse
from erp import documents, grid
from erp import selectors as sel
from erp.errors import ErpUnavailable
from erp.waits import DEFAULT_CALLBACK_TIMEOUT_MS, boundary, wait_idle

#: The real pager's largest size: fewest callbacks per list (FACTS §8).
DEFAULT_PAGE_SIZE = 200
VIEWS = {
    "customers": sel.CUSTOMERS_LIST,
    "orders": sel.ORDERS_LIST,
    "products": sel.PRODUCTS_LIST,
    "ddt": sel.DDT_LIST,
    "invoices": sel.INVOICES_LIST,
    "prices": sel.PRICES_LIST,
    "line_discounts": sel.LINE_DISCOUNTS_LIST,
}
View = Literal[
    "customers", "orders", "products", "ddt", "invoices", "prices", "line_discounts"
]
#: Lists that come up empty until their date filter is clicked (erp.documents, FACTS §8).
DOCUMENT_VIEWS = ("ddt", "invoices")


@dataclass(frozen=True)
class ListPage:
    """One page of a list: rows keyed by lowercase column, values normalized."""

    page_index: int
    page_count: int
    total_rows: int
    rows: list[dict[str, str]]


async def iter_list(
    page: Any,
    erp_url: str,
    view: View,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    start_page: int = 0,
) -> AsyncGenerator[ListPage, None]:
    """Yield every page of a list from `start_page` on (a preempted sync resumes there).

    The list is reset first (filter "all", first page, `page_size` rows a page) and the
    agent's filter and page size are put back when the iteration ends or is closed — use
    `contextlib.aclosing` when breaking out early.
    """
    path = VIEWS[view]
    step = f"list {view}"
    documents_list = view in DOCUMENT_VIEWS
    if documents_list:
        prepared = documents.prepared_documents(page, erp_url, path, page_size=page_size)
    else:
        prepared = grid.prepared_list(page, erp_url, path, page_size=page_size, fresh=True)
    read = documents.read_document_grid if documents_list else grid.read_grid
    async with prepared as name:
        index = start_page
        while True:
            data = await read(page, name)
            if data["page_index"] != index:
                if index >= data["page_count"]:
                    return
                await grid.goto_page(page, name, index, f"{step}: page {index + 1}")
                data = await read(page, name)
                if data["page_index"] != index:
                    raise ErpUnavailable(
                        f"{step}: asked for page {index}, got {data['page_index']}"
                    )
            # Numbers and dates are in the browser's culture: ask it, never guess (FACTS §8).
            culture = data["culture"]
            rows = [
                {k: grid.normalize(k, v, culture) for k, v in row.items()} for row in data["rows"]
            ]
            yield ListPage(index, data["page_count"], data["total"], rows)
            if index + 1 >= data["page_count"]:
                return
            index += 1


async def newest_modified(
    page: Any, erp_url: str, view: View, *, with_count: bool = True
) -> str | None:
    """The newest MODIFIEDDATETIME of a list's rows (ISO, the ERP's wall time, as `iter_list`
    normalises dates) and, with `with_count`, the list's row count after a "|" — or None for a
    list without that column (customers): always walk those.

    A sync skips its walk when this is not newer than what it saw at its last complete walk
    (FACTS §8, the live bot's sentinel). Reading page 1 in the list's own order is not enough:
    the price list has no useful default order, and a changed row deep in it would be missed.
    So the grid is sorted by MODIFIEDDATETIME descending — put in front of whatever sort the
    agent has (`SortBy(…, 'DSC', false, 0)`), not replacing it — and the first page's values
    read in one GetPageRowValues callback (GetRowValues, per row, leaves the live grid "in a
    callback" for 45 s). Then only that column is taken out of the sort again, which leaves
    the agent's own sort exactly as it was; filter and page size come back as `iter_list`'s do.
    (The grid API cannot tell the agent's sort, so an agent's own sort on MODIFIEDDATETIME
    itself would be lost; the column is hidden on every list but products.)
    """
    path = VIEWS[view]
    step = f"newest change of {view}"
    if view in DOCUMENT_VIEWS:
        prepared = documents.prepared_documents(page, erp_url, path)
    else:
        prepared = grid.prepared_list(page, erp_url, path, fresh=True)
    async with prepared as name:
        async with boundary(page, step):
            has_column = await page.evaluate(sel.HAS_COLUMN_JS, name, sel.MODIFIED_FIELD)
        if not has_column:
            return None
        await _sort_by(page, name, sel.MODIFIED_FIELD, "DSC", f"{step}: sort newest first")
        try:
            state = await grid.list_state(page, name, step)
            if state.page_index != 0:
                await grid.goto_page(page, name, 0, f"{step}: first page")
            values = await _page_field_values(page, name, sel.MODIFIED_FIELD, step)
            async with boundary(page, step):
                culture = await page.evaluate("() => navigator.language")
                total = await page.evaluate(sel.ROW_COUNT_JS, name)
        finally:
            await _sort_by(page, name, sel.MODIFIED_FIELD, "NONE", f"{step}: put the sort back")
    # Dates come as ISO (the API's Date objects); text, if any, in the browser's culture.
    moments = [
        when
        for when in (culture_parse.parse_datetime(v, culture) for v in values if v)
        if when is not None
    ]
    if not moments:
        return None
    newest = max(moments).isoformat()
    # The row count too: a deletion moves no MODIFIEDDATETIME, but it changes the count.
    return newest if with_count is False or total is None else f"{newest}|{int(total)}"


async def _sort_by(page: Any, name: str, field: str, order: str, step: str) -> None:
    """SortBy(field, order, reset=false, sortIndex=0): only this column's place in the sort
    changes (first, or — with "NONE" — out of it)."""
    async with boundary(page, step):
        await page.evaluate(sel.SORT_BY_JS, name, field, order, False, 0)
    await wait_idle(page, step)


async def _page_field_values(page: Any, name: str, field: str, step: str) -> list[str]:
    """One column's values on the grid's current page, as text (dates ISO)."""
    try:
        async with boundary(page, step):
            values: list[str | None] = await asyncio.wait_for(
                page.evaluate(sel.PAGE_FIELD_VALUES_JS, name, field),
                DEFAULT_CALLBACK_TIMEOUT_MS / 1000,
            )
    except TimeoutError as exc:
        raise ErpUnavailable(f"{step}: GetPageRowValues did not answer") from exc
    await wait_idle(page, step)
    return [v for v in values if v]
