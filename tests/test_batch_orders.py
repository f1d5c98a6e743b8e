"""Batch delete-order / send-to-verona (``{orders: [...]}``): many orders ticked in one list
action — one confirm, one write — each order's own outcome read back from the list after."""

from __future__ import annotations

import json
from typing import Any

import pytest

from erp import grid, operations
from erp import orders as orders_module
from erp import selectors as sel
from erp.errors import ErpUnavailable
from erp.orders import BatchRun, ListedOrder, NewOrder, OrderLine, submit_order
from erp.session import login
from erp.waits import accepting_dialogs, wait_idle
from tests.fix_erpsim import start_erpsim

AGENT = "agent01"
PASSWORD = "pw-agent01"
OTHER_AGENT = "agent02"
UNKNOWN = "99999"


class Hooks:
    """Records the commit hooks a batch calls, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.steps: list[str] = []

    async def before_commit(self) -> None:
        self.calls.append("before_commit")

    async def committed(self) -> None:
        self.calls.append("committed")

    async def after_click(self) -> None:
        self.calls.append("after_click")

    async def progress(self, info: dict[str, Any]) -> None:
        self.steps.append(str(info.get("step")))


def _by_id(erp: Any) -> dict[str, dict[str, Any]]:
    return {str(o["id"]): o for o in erp.orders()}


def _mine(erp: Any) -> tuple[list[str], str]:
    """(the unsent orders of agent01, the one already sent), as the seed makes them."""
    mine = erp.orders(AGENT)
    unsent = [str(o["id"]) for o in mine if o["transfer_status"] == "Modifica"]
    sent = next(str(o["id"]) for o in mine if o["transfer_status"] != "Modifica")
    return unsent, sent


def _other_agents_order(erp: Any) -> str:
    return next(str(o["id"]) for o in erp.orders(OTHER_AGENT) if o["transfer_status"] == "Modifica")


def _log_in_with_three_unsent(erp: Any, aio: Any, page: Any) -> tuple[list[str], str]:
    """Log agent01 in and give them a third unsent order (the seed makes two)."""
    state = erp.state("customers,products")
    customer = next(c["account"] for c in state["customers"] if c["agent"] == AGENT)
    order = NewOrder(customer, (OrderLine(state["products"][0]["item_id"], 1),))

    async def flow() -> str:
        await login(page, erp.url, AGENT, PASSWORD)
        return await submit_order(page, erp.url, order, marker="AB-batch-third")

    third = aio.run(flow())
    unsent, sent = _mine(erp)
    assert third in unsent and len(unsent) == 3
    return unsent, sent


def _writes(erp: Any) -> dict[str, int]:
    """The ERP's committed list actions (a new order's line and save writes left out)."""
    return {k: v for k, v in erp.counters()["writes"].items() if k in ("order_send", "order_delete")}


def test_batch_send_reports_each_order_and_the_erp_matches(erp: Any, aio: Any, page: Any) -> None:
    # Given three unsent orders, one already sent, an unknown id and another agent's order
    unsent, sent = _log_in_with_three_unsent(erp, aio, page)
    foreign = _other_agents_order(erp)
    before = _by_id(erp)
    batch = [*unsent, sent, UNKNOWN, foreign]
    callbacks = erp.counters()["callbacks"]

    # When they are sent to Verona as one batch
    hooks = Hooks()
    result = aio.run(
        operations.send_to_verona(
            page, erp.url, {"orders": batch}, op_id="op-b", reconcile=False, hooks=hooks
        )
    )
    print(f"batch of {len(batch)}: {erp.counters()['callbacks'] - callbacks} ERP callbacks")

    # Then each order is reported on its own, and the ERP holds exactly that
    after = _by_id(erp)
    for order_id in unsent:
        assert after[order_id]["transfer_status"] != "Modifica"
        assert result["orders"][order_id] == {
            "outcome": "sent",
            "transfer_status": after[order_id]["transfer_status"],
            "sales_id": after[order_id]["sales_id"],
        }
    assert result["orders"][sent] == {
        "outcome": "already_sent",
        "transfer_status": before[sent]["transfer_status"],
        "sales_id": before[sent]["sales_id"],
    }
    assert result["orders"][UNKNOWN] == {"outcome": "not_found"}
    assert result["orders"][foreign] == {"outcome": "not_found"}
    assert result["sent"] == [*unsent, sent]
    assert result["not_found"] == [UNKNOWN, foreign] and result["failed"] == []
    assert after[sent] == before[sent] and after[foreign] == before[foreign]
    assert len({after[i]["sales_id"] for i in unsent}) == 3
    # one tick of all three, one confirm, one write on the ERP
    assert hooks.calls == ["before_commit", "after_click", "committed"]
    assert _writes(erp) == {"order_send": 1}


def test_batch_send_retry_after_a_lost_response_ticks_nothing(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given a batch send that the ERP committed but whose answer was lost
    unsent, sent = _log_in_with_three_unsent(erp, aio, page)
    batch = [*unsent, sent, UNKNOWN]
    payload = {"orders": batch}
    erp.set_faults(lost_response_rate=1.0)
    first = Hooks()
    with pytest.raises(ErpUnavailable):
        aio.run(
            operations.send_to_verona(
                page, erp.url, payload, op_id="op-r", reconcile=False, hooks=first
            )
        )
    erp.set_faults(lost_response_rate=0.0)
    assert first.calls == ["before_commit", "after_click"]
    sent_now = _by_id(erp)
    assert all(sent_now[i]["transfer_status"] != "Modifica" for i in unsent)

    # When the retry reconciles
    retry = Hooks()
    result = aio.run(
        operations.send_to_verona(page, erp.url, payload, op_id="op-r", reconcile=True, hooks=retry)
    )

    # Then it ticks nothing and reports every order as already done
    assert retry.calls == ["committed"]
    assert {i: result["orders"][i]["outcome"] for i in batch} == {
        **{i: "already_sent" for i in [*unsent, sent]},
        UNKNOWN: "not_found",
    }
    assert all(result["orders"][i]["sales_id"] == sent_now[i]["sales_id"] for i in unsent)
    assert result["sent"] == [*unsent, sent] and result["not_found"] == [UNKNOWN]
    assert _by_id(erp) == sent_now
    assert _writes(erp) == {"order_send": 1}


def test_batch_delete_reports_each_order_and_a_retry_deletes_nothing_more(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given two unsent orders, one already sent, an unknown id and another agent's order
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    unsent, sent = _mine(erp)
    foreign = _other_agents_order(erp)
    before = _by_id(erp)
    batch = [*unsent, sent, UNKNOWN, foreign]

    # When they are deleted as one batch
    hooks = Hooks()
    result = aio.run(
        operations.delete_order(
            page, erp.url, {"orders": batch}, op_id="op-d", reconcile=False, hooks=hooks
        )
    )

    # Then the unsent ones are gone, the sent one is refused per order and untouched
    after = _by_id(erp)
    assert not set(unsent) & set(after)
    assert {i: result["orders"][i]["outcome"] for i in batch} == {
        **{i: "deleted" for i in unsent},
        sent: "failed",
        UNKNOWN: "not_found",
        foreign: "not_found",
    }
    assert result["orders"][sent]["transfer_status"] == before[sent]["transfer_status"]
    assert result["deleted"] == unsent and result["failed"] == [sent]
    assert result["not_found"] == [UNKNOWN, foreign]
    assert after[sent] == before[sent] and after[foreign] == before[foreign]
    assert hooks.calls == ["before_commit", "after_click", "committed"]
    assert _writes(erp) == {"order_delete": 1}

    # When the same batch is retried with reconcile, nothing more is ticked
    retry = Hooks()
    again = aio.run(
        operations.delete_order(
            page, erp.url, {"orders": batch}, op_id="op-d", reconcile=True, hooks=retry
        )
    )
    assert retry.calls == ["committed"]
    assert {i: again["orders"][i]["outcome"] for i in unsent} == {i: "already_gone" for i in unsent}
    assert again["orders"][sent]["outcome"] == "failed"
    assert _by_id(erp) == after and _writes(erp) == {"order_delete": 1}


def test_the_erp_refuses_a_whole_action_holding_an_order_already_sent(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given the agent ticks an unsent and an already sent order on the list by hand
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    unsent, sent = _mine(erp)
    before = _by_id(erp)

    async def tick_and_send() -> str:
        await grid.open_list(page, erp.url, sel.ORDERS_LIST, fresh=True)
        data = await grid.read_grid(page)
        rows = [grid.normalize("id", r["id"]) for r in data["rows"]]
        return await grid.run_on_rows(
            page,
            (rows.index(unsent[0]), rows.index(sent)),
            sel.SEND_TOOL,
            "send by hand",
            before_commit=None,
            after_click=None,
        )

    # When they click "Invia ordine/i" and confirm once
    message = aio.run(tick_and_send())

    # Then the ERP refuses it all, naming the sent order, and changes nothing
    assert "già stato inviato" in message
    assert _by_id(erp) == before and _writes(erp) == {}


def test_one_confirm_for_many_ticked_rows(erp: Any, aio: Any, page: Any) -> None:
    # Given two rows ticked on the list
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    unsent, _ = _mine(erp)

    async def delete_two() -> list[str]:
        await grid.open_list(page, erp.url, sel.ORDERS_LIST, fresh=True)
        data = await grid.read_grid(page)
        rows = [grid.normalize("id", r["id"]) for r in data["rows"]]
        for order_id in unsent:
            box = await grid.row_element(page, rows.index(order_id), sel.SELECT_CHECK)
            await box.click()
        async with accepting_dialogs(page) as dialogs:
            tool = await page.evaluate(
                """(texts) => [...document.querySelectorAll('a[id^="Vertical_mainMenu_Menu_DXI"]')]
                    .find(a => texts.includes(a.textContent.trim())).id""",
                list(sel.DELETE_TOOL),
            )
            await page.click(f"#{tool}")
            await wait_idle(page, "delete")
        return dialogs

    # When "Cancellare" is clicked once
    dialogs = aio.run(delete_two())

    # Then the browser's confirm() asked once, and one write deleted both
    assert len(dialogs) == 1
    assert not set(unsent) & set(_by_id(erp))
    assert _writes(erp) == {"order_delete": 1}


def _row(order_id: str, status: str, sales_id: str = "") -> ListedOrder:
    return ListedOrder(order_id, 0, status, sales_id)


def test_plan_and_judge_classify_each_order() -> None:
    listed = {
        "1": _row("1", "Modifica"),
        "2": _row("2", "Trasferito", "ORD/7"),
        "3": _row("3", "modified"),
        "4": _row("4", "In attesa di approvazione", "ORD/8"),
    }
    ids = ["1", "2", "3", "4", "5"]
    tick, known = operations.plan_batch(operations.BATCH_SEND, ids, listed, reconcile=False)
    assert tick == ["1", "3"]
    assert {i: k["outcome"] for i, k in known.items()} == {
        "2": "already_sent", "4": "already_sent", "5": "not_found",
    }
    tick, known = operations.plan_batch(operations.BATCH_DELETE, ids, listed, reconcile=True)
    assert tick == ["1", "3"]
    assert {i: k["outcome"] for i, k in known.items()} == {
        "2": "failed", "4": "failed", "5": "already_gone",
    }
    # After the action: "1" was sent, "3" still shows "modified" → failed, with the message
    run = BatchRun(listed, ("1", "3"), {"1": _row("1", "Trasferito", "ORD/9"),
                                                   "3": _row("3", "modified")}, ("nope",))
    judged = operations.judge_batch(operations.BATCH_SEND, run)
    assert judged["1"] == {"outcome": "sent", "transfer_status": "Trasferito", "sales_id": "ORD/9"}
    assert judged["3"] == {"outcome": "failed", "transfer_status": "modified", "erp_message": "nope"}
    judged = operations.judge_batch(operations.BATCH_DELETE, run)
    assert judged["1"]["outcome"] == "failed" and judged["3"]["outcome"] == "failed"


@pytest.fixture
def many_orders(erp: Any, tmp_path: Any) -> Any:
    """A simulator whose agent01 has 25 orders (22 more unsent ones than the seed makes)."""
    seeded = erp.state("orders")
    orders = list(seeded["orders"])
    template = next(o for o in orders if o["agent"] == AGENT and o["transfer_status"] == "Modifica")
    next_id = max(int(o["id"]) for o in orders) + 1
    for n in range(22):
        orders.append({**template, "id": str(next_id + n), "reference": f"AB-many-{n}"})
    sales = [int(o["sales_id"].split("/")[1]) for o in orders if o["sales_id"]]
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({
        "seed": seeded["seed"], "agents": len(erp.state("agents")["agents"]),
        "next_order_id": next_id + 22, "next_sales_number": max(sales) + 1, "orders": orders,
    }))
    sim = start_erpsim(("--state-file", str(path)))
    try:
        yield sim
    finally:
        sim.stop()


def test_ticked_orders_on_several_pages_are_one_action_per_page_the_last_first(
    many_orders: Any, aio: Any, page: Any, monkeypatch: Any
) -> None:
    # Given 10 orders a page, and a batch delete of orders on the first and the third page
    monkeypatch.setattr(orders_module, "BATCH_PAGE_SIZE", 10)
    sim = many_orders
    listed = [str(o["id"]) for o in sorted(sim.orders(AGENT), key=lambda o: -int(o["id"]))]
    assert len(listed) == 25
    unsent = {str(o["id"]) for o in sim.orders(AGENT) if o["transfer_status"] == "Modifica"}
    first_page = [i for i in listed[:10] if i in unsent][:2]
    third_page = [i for i in listed[20:] if i in unsent][:2]
    assert len(first_page) == len(third_page) == 2
    batch = [*first_page, *third_page]
    aio.run(login(page, sim.url, AGENT, PASSWORD))

    # When they are deleted as one batch
    hooks = Hooks()
    result = aio.run(
        operations.delete_order(
            page, sim.url, {"orders": batch}, op_id="op-p", reconcile=False, hooks=hooks
        )
    )

    # Then each page's orders went in one action of its own, and all four are gone
    assert result["deleted"] == batch and result["not_found"] == [] == result["failed"]
    assert not set(batch) & {str(o["id"]) for o in sim.orders(AGENT)}
    assert len(sim.orders(AGENT)) == 21
    assert hooks.calls == ["before_commit", "after_click"] * 2 + ["committed"]
    assert _writes(sim) == {"order_delete": 2}
    # and the agent's own page size is back
    assert sim.list_state(AGENT, "orders")["page_size"] == 20
