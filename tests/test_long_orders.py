"""Long orders: a lines grid of several pages, time limits that grow with the lines, and a
Chromium recycled under a long operation (issue 8, item 9)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archibot.client import Client
from archibot.settings import Settings
from archibot_devtools.local import SimProcess
from erp.orders import NewOrder, OrderLine, apply_order_edit, read_order, submit_order
from erp.session import login
from tests.fix_stack import erp_orders, marker

AGENT = "agent01"
PASSWORD = "pw-agent01"
#: Past the lines grid's 20 rows a page (FACTS §2.12): a second page.
LONG_ORDER_LINES = 25


def _plain_customer(state: dict[str, Any], agent: str) -> str:
    """One of the agent's customers whose lines get no default discount: what a long order
    costs per line is measured here, the LINEDISC rounds in tests/test_line_discounts.py."""
    return next(c["account"] for c in state["customers"]
                if c["agent"] == agent and c["line_discount"] == "N/A" and c["blocked"] != "Completo")


def _long_order(erp: Any, lines: int) -> NewOrder:
    state = erp.state("customers,products")
    customer = _plain_customer(state, AGENT)
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


# -- end to end: worker processes, a slowed simulator ------------------------------------

#: Every request and callback of the simulator takes this long in the tests below: a line
#: costs at least three callbacks (AddNew, the article filter, UpdateEdit).
SLOW_LATENCY_MS = 250
#: The fixed limit of the old code, which a slowed 12-line order exceeds (>= 12 × 3 × 250 ms).
SHORT_BASE_LIMIT_S = 8


@pytest.fixture()
def slow_sim(sim: SimProcess) -> Iterator[SimProcess]:
    """The simulator with SLOW_LATENCY_MS on every request (put back afterwards)."""
    sim.set_faults(latency_ms=SLOW_LATENCY_MS)
    yield sim
    sim.set_faults(latency_ms=None)


def _payload(sim: SimProcess, agent: str, lines: int, first: int = 0) -> dict[str, Any]:
    state = sim.state(include="customers,products")
    customer = _plain_customer(state, agent)
    return {
        "customer": customer,
        "lines": [
            {"article": p["item_id"], "quantity": p["variants"][0]["package_content"]}
            for p in state["products"][first : first + lines]
        ],
        "notes": f"{lines} righe",
    }


def _wait_for_step(client: Client, op_id: str, prefix: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.status(op_id)
        step = str((status.get("progress") or {}).get("step", ""))
        if step.startswith(prefix):
            return
        assert status["status"] in ("queued", "running"), status
        time.sleep(0.2)
    raise AssertionError(f"operation {op_id} never reached {prefix!r}")


def test_a_long_order_past_the_base_time_limit_completes_in_one_attempt(
    client: Client, agents: list[str], slow_sim: SimProcess, start_worker_processes
) -> None:
    # Given a worker whose base limit is shorter than a slowed 12-line order takes
    start_worker_processes(processes=1, threads=2, op_timeout_s=SHORT_BASE_LIMIT_S,
                           op_timeout_per_line_s=10)
    agent = agents[0]
    op_id = client.send("submit-order", agent, _payload(slow_sim, agent, 12))
    # When it runs
    status = client.wait(op_id, 180)
    # Then it ran past the base limit, and completed in its first attempt, once
    assert status["status"] == "done", status["error"]
    assert status["attempts"] == 1
    assert status["exec_ms"] > SHORT_BASE_LIMIT_S * 1000  # the premise of the test
    orders = [o for o in erp_orders(slow_sim) if o["reference"] == marker(op_id)]
    assert len(orders) == 1 and len(orders[0]["lines"]) == 12


_CONTEXT_OPEN = re.compile(r"context_open agent=(\S+) chromium_pid=(\d+)")


def test_chromium_is_recycled_after_a_long_operation_without_interrupting_it_or_logging_in(
    client: Client, agents: list[str], slow_sim: SimProcess, start_worker_processes,
    tmp_path: Path,
) -> None:
    # Given a worker whose Chromium is due for replacement after one second
    start_worker_processes(processes=1, threads=2, browser_max_age_s=1)
    long_agent, other = agents[0], agents[1]
    # And a long order running in it
    long_op = client.send("submit-order", long_agent, _payload(slow_sim, long_agent, 10))
    _wait_for_step(client, long_op, "line 2/")
    # When another agent's operation starts meanwhile (its checkout finds Chromium too old)
    other_op = client.send("submit-order", other, _payload(slow_sim, other, 1, first=20))
    assert client.wait(other_op, 120)["status"] == "done"
    # Then the long operation is not interrupted: done in its first attempt
    status = client.wait(long_op, 180)
    assert status["status"] == "done", status["error"]
    assert status["attempts"] == 1
    # And the agent's next operation runs in another Chromium, without logging in again
    next_op = client.send("submit-order", long_agent, _payload(slow_sim, long_agent, 1, first=30))
    assert client.wait(next_op, 120)["status"] == "done"
    assert slow_sim.counters()["logins"][long_agent] == 1
    log = (tmp_path / "workers.log").read_text(encoding="utf-8")
    opened = [(a, int(pid)) for a, pid in _CONTEXT_OPEN.findall(log) if a == long_agent]
    assert len(opened) == 2, opened
    assert opened[0][1] != opened[1][1]
    # And the old Chromium was closed only once the long operation had let go of it
    assert f"browser_retired pid={opened[0][1]} " in log
    assert "browser_recycle " in log


def test_the_demo_can_send_a_40_line_order() -> None:
    from archibot_devtools.demo import demo_orders

    state = {
        "customers": [{"agent": "agent01", "account": "1002305"}],
        "products": [
            {"item_id": f"A{n}", "variants": [{"package_content": 5}]} for n in range(60)
        ],
    }
    (order,) = demo_orders(state, "agent01", 1, random.Random(1), 40)
    assert len(order["lines"]) == 40
    assert len({line["article"] for line in order["lines"]}) == 40
