"""The sync sentinel (FACTS §8): the newest MODIFIEDDATETIME of a list, read through a sort by
that hidden column — right even when the newest change sits deep in the list's own order — and
the agent's sort (per-user server state, like filter and page size) put back afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from erp import grid
from erp import selectors as sel
from erp.lists import newest_modified
from erp.session import login
from erp.waits import wait_idle
from tests.fix_erpsim import SimProcess

AGENT = "agent01"
PASSWORD = "pw-agent01"


@pytest.fixture(scope="module")
def erpsim(small_erpsim: SimProcess) -> SimProcess:
    """This module's simulator: a small catalogue (~750 prices: 38 pages of 20), started once;
    `erp` resets it around each test."""
    return small_erpsim


def _touch(erp: Any, entity: str, key: str, agent: str | None = None) -> str:
    body = {"entity": entity, "key": key, **({"agent": agent} if agent else {})}
    modified: str = erp.call("POST", "/__sim/touch", body)["modified"]
    return modified


def _newest(aio: Any, page: Any, erp: Any, view: Any) -> str | None:
    async def read() -> str | None:
        await login(page, erp.url, AGENT, PASSWORD)
        return await newest_modified(page, erp.url, view, with_count=False)

    return aio.run(read())


def test_the_newest_change_is_found_deep_in_the_list_and_the_agents_sort_is_kept(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given the agent's price list sorted by article, on "Closed prices", 20 a page
    sort = [["ITEMRELATIONID", "ASC"]]
    erp.set_list_state(AGENT, "prices", sort=sort, filter="Closed prices", page_size=20)
    prices = [p for p in erp.state("prices")["prices"] if not p["closed"]]
    by_article = sorted(prices, key=lambda p: p["item_id"].casefold())

    # Then before anything changes, the answer is the newest seeded change of all active rows
    # (not the newest of page 1 in the list's order, nor in the agent's)
    newest = max(p["modified"] for p in prices)
    assert newest not in {p["modified"] for p in prices[:20] + by_article[:20]}
    assert _newest(aio, page, erp, "prices") == newest

    # When another user changes a price far from page 1 in both orders
    deep = next(p for p in prices[400:] if p not in by_article[:200])
    touched = _touch(erp, "prices", deep["id"])

    # Then the sentinel sees it
    assert touched > newest
    assert _newest(aio, page, erp, "prices") == touched

    # And the agent's sort, filter and page size are as they left them
    after = erp.list_state(AGENT, "prices")
    assert after["sort"] == sort and after["filter"] == "ClosedPrices" and after["page_size"] == 20


def test_every_list_with_the_column_answers_customers_have_none(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given changes to a product deep in the catalogue, to an active line discount and to
    # the agent's oldest order
    products = erp.state("products")["products"]
    touched_product = _touch(erp, "products", products[-3]["item_id"])
    discounts = [d for d in erp.state("line_discounts")["line_discounts"] if not d["closed"]]
    touched_discount = _touch(erp, "line_discounts", discounts[-2]["id"])
    order = min(erp.orders(AGENT), key=lambda o: o["changed"])
    touched_order = _touch(erp, "orders", order["id"], AGENT)

    # Then each list's sentinel is that change; the customers list has no such column
    assert _newest(aio, page, erp, "products") == touched_product
    newest = newest_modified
    assert aio.run(newest(page, erp.url, "line_discounts", with_count=False)) == touched_discount
    assert aio.run(newest(page, erp.url, "orders", with_count=False)) == touched_order
    assert aio.run(newest_modified(page, erp.url, "customers")) is None
    # The sync's sentinel also carries the row count (a deletion moves no MODIFIEDDATETIME)
    counted = aio.run(newest_modified(page, erp.url, "orders"))
    assert counted == f"{touched_order}|{len(erp.orders(AGENT))}"
    # And no sort was left behind on any of them
    assert all(not erp.list_state(AGENT, view).get("sort")
               for view in ("products", "line_discounts", "orders", "customers"))


def test_sort_by_is_the_users_server_state(erp: Any, aio: Any, page: Any) -> None:
    # Given the agent sorts the price list by amount, descending, through the grid API
    async def sort_and_reopen() -> list[str]:
        await login(page, erp.url, AGENT, PASSWORD)
        await grid.open_list(page, erp.url, sel.PRICES_LIST, fresh=True)
        name = await grid.list_grid(page, "test", "_LE_v7")
        await page.evaluate("(n) => window[n].SortBy('AMOUNT', 'DSC')", name)
        await wait_idle(page, "sort")
        await grid.open_list(page, erp.url, sel.PRICES_LIST, fresh=True)
        rows = (await grid.read_grid(page))["rows"]
        return [grid.normalize("amount", r["amount"], "it-IT") for r in rows]

    # Then the server keeps it: a new visit shows the dearest prices first
    amounts = aio.run(sort_and_reopen())
    active = [p["amount"] for p in erp.state("prices")["prices"] if not p["closed"]]
    assert [float(a) for a in amounts] == sorted(active, reverse=True)[:20]
    assert erp.list_state(AGENT, "prices")["sort"] == [["AMOUNT", "DSC"]]

    # And SortBy without reset puts a column in front; 'NONE' takes only that one out
    async def add_and_remove() -> list[Any]:
        name = await grid.list_grid(page, "test", "_LE_v7")
        await page.evaluate("(n) => window[n].SortBy('MODIFIEDDATETIME', 'ASC', false, 0)", name)
        await wait_idle(page, "sort")
        first = erp.list_state(AGENT, "prices")["sort"]
        await page.evaluate("(n) => window[n].SortBy('MODIFIEDDATETIME', 'NONE', false)", name)
        await wait_idle(page, "unsort")
        return [first, erp.list_state(AGENT, "prices")["sort"]]

    first, second = aio.run(add_and_remove())
    assert first == [["MODIFIEDDATETIME", "ASC"], ["AMOUNT", "DSC"]]
    assert second == [["AMOUNT", "DSC"]]
