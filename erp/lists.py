"""Paging through a whole list view for syncs, one page in memory at a time."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Literal

from erp import grid
from erp import selectors as sel
from erp.errors import ErpUnavailable

#: The real pager's largest size: fewest callbacks per list (FACTS §8).
DEFAULT_PAGE_SIZE = 200
VIEWS = {
    "customers": sel.CUSTOMERS_LIST,
    "orders": sel.ORDERS_LIST,
    "products": sel.PRODUCTS_LIST,
}
View = Literal["customers", "orders", "products"]


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
    async with grid.prepared_list(page, erp_url, path, page_size=page_size, fresh=True) as name:
        index = start_page
        while True:
            data = await grid.read_grid(page, name)
            if data["page_index"] != index:
                if index >= data["page_count"]:
                    return
                await grid.goto_page(page, name, index, f"{step}: page {index + 1}")
                data = await grid.read_grid(page, name)
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
