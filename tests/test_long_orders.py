"""Long orders: a lines grid of several pages, time limits that grow with the lines, and a
Chromium recycled under a long operation (issue 8, item 9)."""

from __future__ import annotations

from typing import Any

from archibot.settings import Settings
from erp.orders import NewOrder, OrderLine, apply_order_edit, read_order, submit_order
from erp.session import login

AGENT = "agent01"
PASSWORD = "pw-agent01"
#: Past the lines grid's 20 rows a page (FACTS §2.12): a second page.
LONG_ORDER_LINES = 25


def _long_order(erp: Any, lines: int) -> NewOrder:
    state = erp.state("customers,products")
    customer = next(c["account"] for c in state["customers"] if c["agent"] == AGENT)
    products = state["products"][:lines]
    assert len(products) == lines
    return NewOrder(
        customer=customer,
        lines=tuple(
            OrderLine(article=p["item_id"], quantity=float(p["variants"][0]["package_content"]))
            for p in products
        ),
        notes="ordine lungo",
    )


async def _page_count(page: Any) -> int:
    count: int = await page.evaluate(
        """() => { let n = 0; ASPxClientControl.GetControlCollection().ForEachControl(c => {
            if (c.name.indexOf('dviSALESLINEs') >= 0 && c.AddNewRow) n = c.GetPageCount(); });
            return n; }"""
    )
    return count


def test_a_25_line_order_reads_back_25_lines_and_a_line_on_page_2_can_be_changed(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given a 25-line order in the ERP, whose lines grid shows 20 rows a page
    order = _long_order(erp, LONG_ORDER_LINES)
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    order_id = aio.run(submit_order(page, erp.url, order, marker="AB-long-25"))
    saved = next(o for o in erp.state("orders")["orders"] if o["id"] == order_id)
    assert len(saved["lines"]) == LONG_ORDER_LINES
    # When it is read back from its detail view
    snapshot = aio.run(read_order(page, erp.url, order_id))
    assert snapshot is not None
    assert aio.run(_page_count(page)) == 2  # the premise: the view shows two pages
    # Then every line of every page is there, in order, with its variant
    assert [(l.article, l.quantity) for l in snapshot.lines] == [
        (l.article, l.quantity) for l in order.lines
    ]
    assert [l.variant for l in snapshot.lines] == [l["variant"] for l in saved["lines"]]
    # And editing line 23 (on the second page) changes that line only
    wanted = list(order.lines)
    wanted[22] = OrderLine(article=wanted[22].article, quantity=wanted[22].quantity * 3)
    assert aio.run(apply_order_edit(page, erp.url, order_id, tuple(wanted))) is True
    edited = next(o for o in erp.state("orders")["orders"] if o["id"] == order_id)
    assert [(l["article"], l["quantity"]) for l in edited["lines"]] == [
        (l.article, l.quantity) for l in wanted
    ]


def test_the_time_limit_of_an_order_grows_with_its_lines() -> None:
    settings = Settings(op_timeout_s=300, op_timeout_per_line_s=45)
    lines = [{"article": "A", "quantity": 1}] * 40
    assert settings.op_time_limit_s("submit-order", {"lines": lines}) == 300 + 40 * 45
    assert settings.op_time_limit_s("edit-order", {"order": "1", "lines": lines[:2]}) == 390
    assert settings.op_time_limit_s("delete-order", {"order": "1"}) == 300
    assert Settings(op_timeouts="submit-order=60").op_time_limit_s(
        "submit-order", {"lines": lines[:10]}) == 60 + 10 * 45
