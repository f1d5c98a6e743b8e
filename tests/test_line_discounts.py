"""The default line discount (issue 17 item 2, FACTS §2.15, §11): a customer whose LINEDISC is
"Discount to get street price" gives every new line of its orders LINEPERCENT 20 %, besides the
line's own MANUALDISCOUNT. The live ERP clears it only through the order's LINEDISC Clear button
and "Salvare", in rounds; the bot ends every line at exactly the payload's discount — the erp
page objects against the simulator in a real Chromium."""

from __future__ import annotations

from typing import Any

from erp.orders import NewOrder, OrderLine, edit_order, submit_order
from erp.session import login

AGENT = "agent01"
PASSWORD = "pw-agent01"
STREET_PRICE = "Discount to get street price"


def _customer(erp: Any, line_discount: str) -> str:
    return next(c["account"] for c in erp.state("customers")["customers"]
                if c["agent"] == AGENT and c["line_discount"] == line_discount)


def _order(erp: Any, customer: str, lines: int) -> NewOrder:
    products = erp.state("products")["products"][:lines]
    return NewOrder(customer=customer, lines=tuple(
        OrderLine(p["item_id"], float(p["variants"][0]["package_content"]),
                  discount=12.5 if n == 1 else None)
        for n, p in enumerate(products)))


def _run(erp: Any, aio: Any, page: Any, order: NewOrder, marker: str) -> tuple[str, list[str]]:
    said: list[str] = []

    async def progress(text: str) -> None:
        said.append(text)

    async def flow() -> str:
        await login(page, erp.url, AGENT, PASSWORD)
        return await submit_order(page, erp.url, order, marker=marker, on_progress=progress)

    return aio.run(flow()), [s for s in said if s.startswith("line discounts")]


def _saved_lines(erp: Any, order_id: str) -> list[tuple[float, float | None]]:
    order = next(o for o in erp.orders(AGENT) if o["id"] == order_id)
    return [(line["line_percent"], line["discount"]) for line in order["lines"]]


def test_a_street_price_customers_lines_end_at_the_payloads_discount_in_three_rounds(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given a customer whose new order lines get 20 % and a 3-line order, one line at 12.5 %
    order = _order(erp, _customer(erp, STREET_PRICE), 3)
    # When the bot submits it
    order_id, rounds = _run(erp, aio, page, order, "AB-linedisc-3")
    # Then the ERP cleared the default as it does: the first save only shows LINEDISC's Clear
    # button, the next clear + save resets one line, the one after the other two
    assert rounds == ["line discounts: round 1, 3 line(s) left",
                      "line discounts: round 2, 2 line(s) left",
                      "line discounts: round 3, 0 line(s) left"]
    # ...and every line holds exactly the payload's discount, nothing of the default
    assert _saved_lines(erp, order_id) == [(0.0, None), (0.0, 12.5), (0.0, None)]
    held = next(o for o in erp.orders(AGENT) if o["id"] == order_id)
    assert held["line_discount"] == "N/A"


def test_a_customer_without_a_line_discount_costs_no_round(erp: Any, aio: Any, page: Any) -> None:
    # Given a customer whose LINEDISC is N/A
    order = _order(erp, _customer(erp, "N/A"), 2)
    # When the bot submits an order: no "Salvare" round at all, and the lines are as asked
    order_id, rounds = _run(erp, aio, page, order, "AB-linedisc-none")
    assert rounds == []
    assert _saved_lines(erp, order_id) == [(0.0, None), (0.0, 12.5)]


def test_a_line_added_by_edit_order_loses_the_default_too(erp: Any, aio: Any, page: Any) -> None:
    # Given a street-price customer's seeded unsent order (its LINEDISC still the group's)
    held = next(o for o in erp.orders(AGENT) if o["line_discount"] == STREET_PRICE
                and o["transfer_status"] == "Modifica" and o["lines"])
    lines = tuple(OrderLine(ln["article"], ln["quantity"], ln["discount"], ln["variant"])
                  for ln in held["lines"])
    extra = next(p for p in erp.state("products")["products"]
                 if p["item_id"] not in {ln.article for ln in lines})
    wanted = (*lines, OrderLine(extra["item_id"], float(extra["variants"][0]["package_content"])))
    said: list[str] = []

    async def progress(text: str) -> None:
        said.append(text)

    # When the agent adds a line through edit-order
    async def flow() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        await edit_order(page, erp.url, held["id"], wanted, on_progress=progress)

    aio.run(flow())
    # Then the new line got 20 % and lost it in one round (the edit form shows the Clear button)
    assert [s for s in said if s.startswith("line discounts")] == [
        "line discounts: round 1, 0 line(s) left"]
    assert _saved_lines(erp, held["id"]) == [*[(0.0, ln.discount) for ln in lines], (0.0, None)]
