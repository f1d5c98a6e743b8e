"""Order writes on an ERP that commits each line at once, overwrites early values and sticks.

Issue 8 (FACTS §2, §3, §9-§11): the order exists from its first saved line; a plain
"Salvare" while a row is open rolls it back; the variant pick's callback pre-fills the
quantity; saves put the global discount back; the grid can stay editing (and AddNewRow then
freezes the page); the DOM grows with lines; and every write is read back.
"""

from __future__ import annotations

from typing import Any

import pytest

from erp import order_form
from erp.detail import click_save
from erp.errors import ErpMismatch, ErpUnavailable, GridStuck
from erp.orders import NewOrder, OrderLine, submit_order
from erp.session import login
from erp.waits import goto, wait_idle

AGENT = "agent01"
PASSWORD = "pw-agent01"


def _order(erp: Any, lines: int, **header: Any) -> NewOrder:
    """An order of `lines` lines whose quantities are never a package's default content."""
    state = erp.state("customers,products")
    customer = next(c["account"] for c in state["customers"] if c["agent"] == AGENT)
    products = state["products"][20 : 20 + lines]
    return NewOrder(
        customer=customer,
        lines=tuple(
            OrderLine(
                article=p["item_id"],
                quantity=float(p["variants"][0]["package_content"] * (n + 2)),
                variant=p["variants"][0]["variant"],
            )
            for n, p in enumerate(products)
        ),
        **header,
    )


def _mine(erp: Any, marker: str) -> list[dict[str, Any]]:
    return [o for o in erp.orders(AGENT) if o["reference"] == marker]


def _lines(order: dict[str, Any]) -> list[tuple[str, float]]:
    return [(line["article"], line["quantity"]) for line in order["lines"]]


def _wanted(order: NewOrder) -> list[tuple[str, float]]:
    return [(line.article, line.quantity) for line in order.lines]


async def _form_with_one_line(page: Any, erp: Any, order: NewOrder, marker: str) -> str:
    """Log in, open a new order, choose the customer, write the marker, save line 1."""
    await login(page, erp.url, AGENT, PASSWORD)
    await goto(page, erp.url + "SALESTABLE_DetailViewAgent/?NewObject=true", "new order")
    await order_form.choose_customer(page, order.customer)
    await order_form.fill_header(page, order, marker)
    order_id = await order_form.add_line(page, order.lines[0], 1)
    assert order_id
    return order_id


def test_the_order_exists_from_its_first_line_with_its_marker(erp: Any, aio: Any, page: Any) -> None:
    # Given a new order form with the marker written and one line saved
    order = _order(erp, 2)
    order_id = aio.run(_form_with_one_line(page, erp, order, "AB-firstline"))
    # Then the ERP already holds the order, findable as ours, with that line
    (saved,) = _mine(erp, "AB-firstline")
    assert saved["id"] == order_id and saved["transfer_status"] == "Modifica"
    assert _lines(saved) == _wanted(order)[:1]
    assert f"SALESTABLE_DetailViewAgent/{order_id}/" in page.url


def test_plain_save_with_a_row_open_rolls_the_order_back(erp: Any, aio: Any, page: Any) -> None:
    # Given an order whose first line is saved and a new row open in the lines grid
    order = _order(erp, 2)

    async def flow() -> None:
        await _form_with_one_line(page, erp, order, "AB-rollback")
        grid = await order_form.lines_grid(page, "open a row")
        await page.click(f'[id="{grid}_DXHeadersRow0"] a[data-args*="AddNew"]')
        await wait_idle(page, "open a row")
        # When plain "Salvare" is clicked mid-insertion
        await click_save(page, "plain save", close=False)

    # Then the page dies and the ERP holds nothing of the order (the ObjectSpace rollback)
    with pytest.raises(ErpUnavailable):
        aio.run(flow())
    assert _mine(erp, "AB-rollback") == []


def test_plain_save_with_all_lines_in_keeps_the_order(erp: Any, aio: Any, page: Any) -> None:
    order = _order(erp, 1)

    async def flow() -> None:
        await _form_with_one_line(page, erp, order, "AB-plainsave")
        await click_save(page, "plain save", close=False)

    aio.run(flow())
    (saved,) = _mine(erp, "AB-plainsave")
    assert _lines(saved) == _wanted(order)


def test_quantity_is_written_after_the_variant_pick_prefills_it(erp: Any, aio: Any, page: Any) -> None:
    # Given an ERP slow enough that the variant pick's callback lands after a quick typist
    erp.set_faults(latency_ms=250)
    order = _order(erp, 1)

    async def flow() -> str:
        await login(page, erp.url, AGENT, PASSWORD)
        return await submit_order(page, erp.url, order, marker="AB-prefill")

    # When the bot submits an order whose quantity is not the package's content
    order_id = aio.run(flow())
    # Then the ERP holds the quantity asked for, not the package default
    (saved,) = _mine(erp, "AB-prefill")
    assert saved["id"] == order_id and _lines(saved) == _wanted(order)


def test_global_discount_survives_the_line_saves(erp: Any, aio: Any, page: Any) -> None:
    # Given an order with a global discount: every line save puts the stored one back
    order = _order(erp, 2, discount=7.5, notes="sconto globale")

    async def flow() -> str:
        await login(page, erp.url, AGENT, PASSWORD)
        return await submit_order(page, erp.url, order, marker="AB-discount")

    aio.run(flow())
    (saved,) = _mine(erp, "AB-discount")
    assert saved["discount"] == 7.5 and saved["notes"] == "sconto globale"
    assert _lines(saved) == _wanted(order)


def test_a_stuck_grid_is_reloaded_and_resumed_without_a_line_twice(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given a grid that stays editing after every line's UpdateEdit (the line is saved)
    erp.set_faults(stuck_edit_rate=1.0)
    order = _order(erp, 3)
    progress: list[str] = []

    async def on_progress(text: str) -> None:
        progress.append(text)

    async def flow() -> str:
        await login(page, erp.url, AGENT, PASSWORD)
        return await submit_order(
            page, erp.url, order, marker="AB-stuck", on_progress=on_progress
        )

    # When the bot submits a 3-line order
    order_id = aio.run(flow())
    # Then it reloaded after each stuck line, resumed from the saved row count, and the ERP
    # holds each line exactly once
    assert sum("reload the order form" in p for p in progress) == 3
    (saved,) = _mine(erp, "AB-stuck")
    assert saved["id"] == order_id and _lines(saved) == _wanted(order)


def test_add_new_row_on_a_stuck_grid_freezes_the_page_and_a_bounded_probe_sees_it(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given a line saved on a grid left editing (InCallback false, IsEditing true)
    erp.set_faults(stuck_edit_rate=1.0)
    order = _order(erp, 2)

    async def flow() -> int:
        with pytest.raises(GridStuck):
            await _form_with_one_line(page, erp, order, "AB-frozen")
        grid = await order_form.lines_grid(page, "frozen")
        # When AddNewRow is called on it, the page's JavaScript freezes: the bounded probe
        # gives up instead of hanging the worker
        with pytest.raises(GridStuck):
            await order_form.probe(
                page,
                "add a row",
                "(n) => ASPxClientControl.GetControlCollection().GetByName(n).AddNewRow()",
                grid,
            )
        # Then the page is unfrozen and reloaded, and the saved rows are counted
        return await order_form.reload_form(page, "reload")

    assert aio.run(flow()) == 1
    (saved,) = _mine(erp, "AB-frozen")
    assert _lines(saved) == _wanted(order)[:1]


def test_a_line_lost_at_save_is_a_mismatch_naming_the_lines(erp: Any, aio: Any, page: Any) -> None:
    # Given an ERP that drops the last line when the order is saved
    erp.set_faults(drop_line_on_save_rate=1.0)
    order = _order(erp, 2)

    async def flow() -> str:
        await login(page, erp.url, AGENT, PASSWORD)
        return await submit_order(page, erp.url, order, marker="AB-dropped")

    # When the bot submits, the readback finds one line missing: an error, never done
    with pytest.raises(ErpMismatch) as info:
        aio.run(flow())
    assert info.value.field == "lines"
    (saved,) = _mine(erp, "AB-dropped")
    assert len(saved["lines"]) == 1


def test_past_the_dom_node_budget_the_form_is_reloaded_and_resumed(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given a DOM node budget the form is always past
    order = _order(erp, 3)
    progress: list[str] = []

    async def on_progress(text: str) -> None:
        progress.append(text)

    async def flow() -> str:
        await login(page, erp.url, AGENT, PASSWORD)
        return await submit_order(
            page, erp.url, order, marker="AB-dom", on_progress=on_progress, dom_node_budget=1
        )

    # When the bot submits 3 lines
    aio.run(flow())
    # Then it reloaded the form before lines 2 and 3 and no line is there twice
    reloads = [p for p in progress if "reload the order form" in p]
    assert len(reloads) == 2 and all("DOM nodes" in p for p in reloads)
    (saved,) = _mine(erp, "AB-dom")
    assert _lines(saved) == _wanted(order)
