"""The price list and the line-discount list (PRICEDISCTABLE, FACTS §8): the simulator's pages as
the structure dump has them, the bot walking both whole with plain values, and the admin calls
that make records disappear or change (`/__sim/remove`, `/__sim/touch`)."""

from __future__ import annotations

import json
import urllib.error
from contextlib import aclosing
from typing import Any

import pytest

from erp import grid
from erp import selectors as sel
from erp.lists import iter_list
from erp.session import login
from tests.conformance_spec import load_dump
from tests.fix_erpsim import SimProcess

AGENT = "agent01"
PASSWORD = "pw-agent01"


@pytest.fixture(scope="module")
def erpsim(small_erpsim: SimProcess) -> SimProcess:
    """This module's simulator: a small catalogue (whole walks in seconds); `erp` resets it
    around each test."""
    return small_erpsim


def _walk(aio: Any, page: Any, erp: Any, view: Any) -> list[dict[str, str]]:
    async def walk() -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        async with aclosing(iter_list(page, erp.url, view, page_size=200)) as pages:
            async for list_page in pages:
                rows += list_page.rows
        return rows

    return aio.run(walk())


def _number(value: float) -> str:
    return f"{value:.10g}"


def test_the_price_lists_have_the_dumps_columns_filter_and_toolbar(
    erp: Any, aio: Any, page: Any
) -> None:
    # The authority in ../shared, else the committed copy (a clone without ../shared beside it).
    dump = load_dump()["listViews"]

    async def probe(path: str, suffix: str) -> dict[str, Any]:
        await grid.open_list(page, erp.url, path, fresh=True)
        name = await grid.list_grid(page, "test", suffix)
        state = await grid.list_state(page, name, "test")
        found = await page.evaluate("""(n) => {
            const c = ASPxClientControl.GetControlCollection().GetByName(n);
            const cols = [];
            for (let i = 0; i < c.GetColumnCount(); i++) cols.push(c.GetColumn(i));
            const tools = [...document.querySelectorAll('a[id^="Vertical_mainMenu_Menu_DXI"]')]
                .map(a => [a.id, a.textContent.trim(), a.closest('li').classList.contains('dxm-disabled')]);
            return {cols: cols.map(x => [x.fieldName, x.visible, x.visibleIndex]), tools: tools};
        }""", name)
        return {"state": state, **found}

    aio.run(login(page, erp.url, AGENT, PASSWORD))
    for view, path, suffix, items in (
        ("Prices", sel.PRICES_LIST, "_LE_v7", ["Prezzi attivi", "Prezzi chiusi"]),
        ("LineDiscounts", sel.LINE_DISCOUNTS_LIST, "_LE_v8",
         ["Sconti di riga attivi", "Sconti di riga chiusi"]),
    ):
        seen = aio.run(probe(path, suffix))
        wanted = [[c["fieldName"], c["visible"], c["visibleIndex"]]
                  for c in sorted(dump[view]["columns"], key=lambda c: c["index"])]
        # Then the columns are the dump's (system columns last, as the real grid lists them)
        assert seen["cols"][: len(wanted)] == wanted
        assert ["MODIFIEDDATETIME", False] in [c[:2] for c in seen["cols"]]
        # And the filter combo offers Active/Closed (Italian page), "active" chosen by default
        state = seen["state"]
        assert [i["text"] for i in state.items] == items
        assert state.filter and state.filter.endswith(("ActivePrices", "ActiveLineDiscounts"))
        assert state.page_size == 20
        tools = {text: disabled for _, text, disabled in seen["tools"]}
        assert tools["Modifica"] is True and tools["Aggiorna"] is False
        assert "Reimposta visualizzazione" in tools


def test_both_price_lists_are_walked_whole_with_plain_values(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given the agent left both lists on "Closed …", 50 a page
    erp.set_list_state(AGENT, "prices", filter="Closed prices", page_size=50, page_index=3)
    erp.set_list_state(AGENT, "line_discounts", filter="Closed line discounts", page_size=10)
    state = erp.state("prices,line_discounts")
    prices = {p["id"]: p for p in state["prices"] if not p["closed"]}
    discounts = {d["id"]: d for d in state["line_discounts"] if not d["closed"]}
    assert len(prices) > 600 and len(discounts) > 80

    # When a sync walks both lists, in the bot's Italian browser
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    price_rows = _walk(aio, page, erp, "prices")
    discount_rows = _walk(aio, page, erp, "line_discounts")

    # Then every active row was read once (the filter has no "all": "active" is chosen)...
    assert sorted(r["id"] for r in price_rows) == sorted(prices)
    assert sorted(r["id"] for r in discount_rows) == sorted(discounts)
    # ...with plain values: ids ungrouped, amounts and quantities plain, dates ISO
    for row in price_rows:
        want = prices[row["id"]]
        assert row["itemrelationid"] == want["item_id"]
        assert row["itemrelationtxt"] == want["item_name"]
        assert row["accountrelationid"] == want["account_relation"]
        assert row["amount"] == _number(want["amount"]) and row["currency"] == "EUR"
        assert row["fromdate"] == want["from_date"] + "T00:00:00"
        assert row["todate"] == (want["to_date"] and want["to_date"] + "T00:00:00")
        assert row["quantityamountfrom"] == str(want["quantity_from"])
        assert row["quantityamountto"] == "100000000" and row["priceunit"] == "1"
    for row in discount_rows:
        want = discounts[row["id"]]
        assert (row["itemcode"], row["itemrelationid"]) == (want["item_code"], want["item_relation"])
        assert row["accountrelationid"] == want["account_relation"]
        assert row["percent1"] == str(want["percent1"]) and row["percent2"] == str(want["percent2"])
        assert row["fromdate"] == want["from_date"] + "T00:00:00"

    # And the agent's filters and page sizes are theirs again
    after = erp.list_state(AGENT, "prices")
    assert after["filter"] == "ClosedPrices" and after["page_size"] == 50
    after = erp.list_state(AGENT, "line_discounts")
    assert after["filter"] == "ClosedLineDiscounts" and after["page_size"] == 10


def _post(erp: Any, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    try:
        return 200, erp.call("POST", path, body)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_sim_remove_deletes_records_from_the_lists(erp: Any, aio: Any, page: Any) -> None:
    # Given agent01's 200 customers
    mine = [c["account"] for c in erp.state("customers")["customers"] if c["agent"] == AGENT]
    others = [c["account"] for c in erp.state("customers")["customers"] if c["agent"] != AGENT]

    # When all but 40 % of them disappear, and two prices by key
    status, answer = _post(erp, "/__sim/remove", {"entity": "customers", "agent": AGENT,
                                                  "keep": 0.4})
    assert status == 200
    removed = answer["removed"]
    prices = [p["id"] for p in erp.state("prices")["prices"]][:2]
    status, gone = _post(erp, "/__sim/remove", {"entity": "prices", "keys": [*prices, "nope"]})

    # Then the answer names them (spread over the list, not its first rows)...
    assert status == 200 and gone == {"removed": prices}
    kept = [a for a in mine if a not in removed]
    assert len(kept) == 80 and set(removed) | set(kept) == set(mine)
    assert kept[0] != mine[0] or kept[-1] != mine[-1]
    # ...and the ERP's list shows exactly the rest; other agents keep theirs
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    assert sorted(r["accountnum"] for r in _walk(aio, page, erp, "customers")) == sorted(kept)
    left = erp.state("customers,prices")
    assert sorted(c["account"] for c in left["customers"] if c["agent"] != AGENT) == sorted(others)
    assert not set(prices) & {p["id"] for p in left["prices"]}

    # And the same call again removes nothing more; "keep": 0 removes everything
    status, again = _post(erp, "/__sim/remove", {"entity": "customers", "agent": AGENT,
                                                 "keys": removed})
    assert again == {"removed": []}
    before = {o["id"] for o in erp.orders(AGENT)}
    _, orders = _post(erp, "/__sim/remove", {"entity": "orders", "agent": AGENT, "keep": 0.0})
    assert set(orders["removed"]) == before and before and erp.orders(AGENT) == []


def test_sim_touch_moves_a_records_modified_time(erp: Any) -> None:
    state = erp.state("orders,products,prices,line_discounts")
    old_order = state["orders"][0]
    price = state["prices"][567]

    # When another user changes a price, a line discount, a product and an order
    _, touched = _post(erp, "/__sim/touch", {"entity": "prices", "key": price["id"]})
    discount_id = state["line_discounts"][-1]["id"]
    _, touched_discount = _post(erp, "/__sim/touch", {"entity": "line_discounts",
                                                      "key": discount_id})
    item = state["products"][-1]["item_id"]
    _, touched_product = _post(erp, "/__sim/touch", {"entity": "products", "key": item})
    _, touched_order = _post(erp, "/__sim/touch", {"entity": "orders", "agent": old_order["agent"],
                                                   "key": old_order["id"]})

    # Then their MODIFIEDDATETIME is now, past every seeded one
    newest_seeded = max(p["modified"] for p in state["prices"])
    assert touched["touched"] == price["id"] and touched["modified"] > newest_seeded
    after = {p["id"]: p for p in erp.state("prices")["prices"]}
    assert after[price["id"]]["modified"] == touched["modified"]
    assert touched_discount["modified"] > newest_seeded
    assert touched_product["touched"] == item and touched_product["modified"] > newest_seeded
    order = next(o for o in erp.orders(old_order["agent"]) if o["id"] == old_order["id"])
    assert order["changed"] > old_order["changed"] and touched_order["touched"] == old_order["id"]

    # And unknown records or entities are refused
    assert _post(erp, "/__sim/touch", {"entity": "prices", "key": "1"})[0] == 404
    assert _post(erp, "/__sim/touch", {"entity": "orders", "agent": "agent01", "key": "x"})[0] == 404
    assert _post(erp, "/__sim/touch", {"entity": "ddt_rows", "key": "1"})[0] == 400
    assert _post(erp, "/__sim/remove", {"entity": "customers", "agent": "nobody",
                                        "keys": []})[0] == 400
    assert _post(erp, "/__sim/remove", {"entity": "prices", "keep": 2})[0] == 400


@pytest.mark.parametrize("keep, size, kept", [(0.4, 10, 4), (0.0, 5, 0), (1.0, 7, 7)])
def test_keep_share_is_spread_and_exact(keep: float, size: int, kept: int) -> None:
    from erpsim.views_admin_rows import kept_share

    keys = [str(i) for i in range(size)]
    share = kept_share(keys, keep)
    assert len(share) == kept
    if 0 < kept < size:
        assert share != set(keys[:kept])
