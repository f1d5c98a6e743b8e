"""List views as the real Archibald has them: per-visit control names, columns by field name,
per-user state remembered on the server — and the bot resetting it before it looks anything up."""

from __future__ import annotations

import re
import time
from contextlib import aclosing
from typing import Any

import pytest

from archibot.settings import Settings
from erp import grid
from erp import selectors as sel
from erp.errors import ErpUnavailable
from erp.lists import iter_list
from erp.orders import NewOrder, OrderLine, find_order_by_marker, submit_order
from erp.session import login
from erp.waits import wait_idle
from pool import BrowserPool

AGENT = "agent01"
PASSWORD = "pw-agent01"
GRID_RE = re.compile(r"^Vertical_v3_\d+_LE_v3$")


def _open_orders(aio: Any, page: Any, erp: Any) -> None:
    async def flow() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        await grid.open_list(page, erp.url, sel.ORDERS_LIST, fresh=True)

    aio.run(flow())


def test_grid_name_changes_per_visit_and_the_api_is_the_real_one(
    erp: Any, aio: Any, page: Any
) -> None:
    _open_orders(aio, page, erp)
    first = aio.run(grid.list_grid(page, "test", "_LE_v3"))
    probe = aio.run(page.evaluate("""(name) => {
        const c = ASPxClientControl.GetControlCollection().GetByName(name);
        const cols = [];
        for (let i = 0; i < c.GetColumnCount(); i++) cols.push(c.GetColumn(i));
        return {anyInCallback: typeof (window.ASPx || {}).anyInCallback,
                pageSizeBlur: typeof ASPx.POnPageSizeBlur, global: window[name] === c,
                captions: cols.map(x => x.caption), fields: cols.filter(x => x.visible)
                    .sort((a, b) => a.visibleIndex - b.visibleIndex).map(x => x.fieldName)};
    }""", first))
    aio.run(grid.open_list(page, erp.url, sel.ORDERS_LIST, fresh=True))
    second = aio.run(grid.list_grid(page, "test", "_LE_v3"))

    assert GRID_RE.match(first) and GRID_RE.match(second) and first != second
    assert probe["anyInCallback"] == "undefined" and probe["pageSizeBlur"] == "function"
    assert probe["global"] is True and set(probe["captions"]) == {None}
    assert probe["fields"][:5] == ["", "", "ID", "SALESID", "CUSTACCOUNT"]
    assert len(probe["fields"]) == 25


def test_list_state_is_remembered_per_user_across_logins(
    erp: Any, aio: Any, page: Any, browser: Any
) -> None:
    # Given the agent pages to page 2 at 10 rows a page in one browser
    aio.run(login(page, erp.url, AGENT, PASSWORD))

    async def set_state() -> None:
        await grid.open_list(page, erp.url, sel.CUSTOMERS_LIST, fresh=True)
        name = await grid.list_grid(page, "test", "_LE_v2")
        await page.evaluate("""(g) => { document.getElementById(g + '_DXPagerBottom_PSI').value = '10';
                               ASPx.POnPageSizeBlur(g + '_DXPagerBottom', null); }""", name)
        await wait_idle(page, "page size")
        await grid.goto_page(page, name, 2, "page 3")

    aio.run(set_state())

    # When another browser context logs in as the same agent
    async def fresh_view() -> dict[str, Any]:
        context = await browser.createIncognitoBrowserContext()
        other = await context.newPage()
        try:
            await login(other, erp.url, AGENT, PASSWORD)
            await grid.open_list(other, erp.url, sel.CUSTOMERS_LIST)
            name = await grid.list_grid(other, "test", "_LE_v2")
            return (await grid.list_state(other, name, "test")).__dict__
        finally:
            await context.close()

    # Then it opens on the same page with the same page size
    state = aio.run(fresh_view())
    assert state["page_index"] == 2 and state["page_size"] == 10
    assert erp.list_state(AGENT, "customers")["page_size"] == 10


def test_hostile_list_state_lost_response_retry_finds_the_order_once(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given the agent left the orders list on page 3 of "Orders transferred", 10 a page,
    # and a save that commits on the server but loses its response
    state = erp.state("customers,products")
    customer = next(c["account"] for c in state["customers"] if c["agent"] == AGENT)
    erp.set_list_state(AGENT, "orders", page_index=3, filter="Orders transferred", page_size=10)
    erp.set_faults(lost_response_rate=1.0)
    order = NewOrder(customer=customer, lines=(OrderLine(state["products"][0]["item_id"], 1),))

    async def submit() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        await submit_order(page, erp.url, order, marker="AB-hostile")

    with pytest.raises(ErpUnavailable):
        aio.run(submit())
    erp.set_faults(lost_response_rate=0.0)

    # Then the list as the agent left it does not show the order (a naive search misses it)
    async def naive() -> list[dict[str, str]]:
        await grid.open_list(page, erp.url, sel.ORDERS_LIST, fresh=True)
        await grid.search(page, "AB-hostile")
        return list((await grid.read_grid(page))["rows"])

    assert aio.run(naive()) == []

    # When the retry looks for its marker, it finds the order — exactly one exists
    saved = [o for o in erp.orders(AGENT) if o["reference"] == "AB-hostile"]
    assert len(saved) == 1
    assert aio.run(find_order_by_marker(page, erp.url, "AB-hostile")) == saved[0]["id"]

    # And the agent's filter and page size are put back
    after = erp.list_state(AGENT, "orders")
    assert after["filter"] == "ListViewSalesTableOrdersTransferred" and after["page_size"] == 10


def test_a_lookup_that_cannot_see_its_columns_fails_closed(erp: Any, aio: Any, page: Any) -> None:
    # Given the agent hid the marker's column (PURCHORDERFORMNUM) with the column chooser
    erp.set_list_state(AGENT, "orders", hidden=["PURCHORDERFORMNUM"])

    async def lookup() -> Any:
        await login(page, erp.url, AGENT, PASSWORD)
        return await find_order_by_marker(page, erp.url, "AB-x")

    # Then looking for a marker is a transient error, never "not found"
    with pytest.raises(ErpUnavailable, match="purchorderformnum"):
        aio.run(lookup())


def test_sync_reads_everything_and_puts_back_the_agents_list_state(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given the agent filtered customers to "Free customers" at 50 a page, on page 2
    erp.set_list_state(AGENT, "customers", page_index=2, filter="Free customers", page_size=50)
    expected = {c["account"] for c in erp.state("customers")["customers"] if c["agent"] == AGENT}

    async def sync() -> list[str]:
        await login(page, erp.url, AGENT, PASSWORD)
        accounts: list[str] = []
        async with aclosing(iter_list(page, erp.url, "customers", page_size=100)) as pages:
            async for list_page in pages:
                accounts += [row["accountnum"] for row in list_page.rows]
        return accounts

    # When a sync pages through the list, it sees every customer (not only the filtered ones)
    assert set(aio.run(sync())) == expected

    # Then the filter and page size are the agent's again
    after = erp.list_state(AGENT, "customers")
    assert after["filter"] == "Free_Customers" and after["page_size"] == 50


def test_a_javascript_error_inside_a_wait_fails_at_once_with_its_message(
    erp: Any, aio: Any, page: Any
) -> None:
    _open_orders(aio, page, erp)
    aio.run(page.evaluate("""() => {
        ASPxClientControl.GetControlCollection().elements['Broken'] =
            {name: 'Broken', InCallback() { throw new Error('boom in InCallback'); }};
    }"""))
    started = time.monotonic()
    with pytest.raises(ErpUnavailable, match="boom in InCallback"):
        aio.run(wait_idle(page, "idle check", timeout_ms=30_000))
    assert time.monotonic() - started < 10


def test_the_bot_reads_lists_the_same_in_english_and_italian(erp: Any, aio: Any) -> None:
    # Given the same orders shown by an en-US and an it-IT browser ("51,847" / "51.847",
    # "3/28/2026 6:24:57 AM" / "28/03/2026 06:24:57", "$14.34" / "14,34 EUR")
    async def read(lang: str) -> list[dict[str, str]]:
        pool = BrowserPool(chromium_path=Settings.from_env().chromium, contexts_per_browser=1,
                           lang=lang)
        async with pool, pool.context(AGENT) as session:
            await login(session.page, erp.url, AGENT, PASSWORD)
            rows: list[dict[str, str]] = []
            async with aclosing(iter_list(session.page, erp.url, "orders")) as pages:
                async for list_page in pages:
                    rows += list_page.rows
            shown = await session.page.evaluate(
                "() => document.querySelector('td[data-dxfmt=\"money\"]').textContent")
        assert ("EUR" in shown) == (lang == "it-IT"), shown
        return rows

    english, italian = aio.run(read("en-US")), aio.run(read("it-IT"))

    # Then the bot reads the same plain values from both
    assert english == italian and english
    ids = {o["id"] for o in erp.orders(AGENT)}
    assert {row["id"] for row in english} == ids
    # Dates read in the browser's own culture: "3/4/2026" is March 4th in en-US, not April 3rd
    assert {r["id"]: r["deliverydate"][:10] for r in english} == {
        o["id"]: o["delivery_date"] for o in erp.orders(AGENT)
    }
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", r["createddatetime"])
               for r in english)
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", r["grossamount"]) for r in english)


def test_get_row_values_answers_and_leaves_the_grid_in_a_callback(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given the orders list (the real GetRowValues fires a server callback per call, FACTS §8)
    _open_orders(aio, page, erp)
    name = aio.run(grid.list_grid(page, "test", "_LE_v3"))

    async def row_values() -> Any:
        return await page.evaluate("""(n) => new Promise(done => {
            const c = ASPxClientControl.GetControlCollection().GetByName(n);
            c.GetRowValues(0, 'ID;CREATEDDATETIME', v => setTimeout(() =>
                done({id: v[0], created: v[1] instanceof Date, busy: c.InCallback()}), 0));
        })""", name)

    # Then it answers with typed values, and the grid stays "in a callback" afterwards
    seen = aio.run(row_values())
    assert str(seen["id"]) in {o["id"] for o in erp.orders(AGENT)}
    assert seen["created"] is True and seen["busy"] is True
