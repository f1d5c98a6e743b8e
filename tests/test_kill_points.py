"""SIGKILL a worker at each point of each write: the ERP holds the effect exactly once.

The worker kills itself (``ARCHIBOT_TEST_CRASH_AT``) right before the first irreversible
click (for an order, its first line's UpdateEdit), right after the save click, and after the
ERP committed but before the journal recorded it. A fresh worker then takes the agent once
the dead holder's lease runs out, reconciles with the ERP and finishes the journal row with
the ERP's id.

An order exists in the ERP from its first saved line (FACTS §2.11): order writes are also
killed after line 1 of 3 and with all lines in, before "Salva e chiudi". The retry finds the
partial order by its marker (submit) or diffs against what the ERP holds (edit) and
completes it: exactly one order, holding exactly the wanted lines.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from archibot.client import Client
from archibot.keys import lock_key
from archibot_devtools.local import SimProcess
from tests.fix_stack import erp_orders, marker
from tests.test_operations import customers_of, new_customer, unsent_order
from tests.test_submit_order import order_for

POINTS = ("before_click", "after_click", "before_journal")
WRITES = ("submit-order", "edit-order", "delete-order", "send-to-verona", "create-customer", "update-customer")
#: A short lease keeps each case quick; renewal still runs every third of it.
KILL_TEST_LOCK_TTL_MS = 2_000


def _payload(op_type: str, sim: SimProcess, agent: str, n: int) -> dict[str, Any]:
    if op_type == "submit-order":
        return order_for(sim, agent, n, lines=2)
    if op_type == "edit-order":
        return {"order": unsent_order(sim, agent)["id"], "lines": order_for(sim, agent, n + 3, lines=2)["lines"]}
    if op_type in ("delete-order", "send-to-verona"):
        return {"order": unsent_order(sim, agent)["id"]}
    if op_type == "create-customer":
        return new_customer(100 + n)
    return {"customer": customers_of(sim, agent)[2]["account"], "fields": {"city": f"Citta {n}", "phone": f"+39045{n:06d}"}}


def _effect(op_type: str, sim: SimProcess, agent: str, payload: dict[str, Any], op_id: str) -> int:
    """How many times the ERP holds this write's effect (1 is the only right answer)."""
    orders = erp_orders(sim)
    if op_type == "submit-order":
        return sum(1 for o in orders if o["reference"] == marker(op_id))
    if op_type == "edit-order":
        (order,) = [o for o in orders if o["id"] == payload["order"]]
        wanted = [(l["article"], l["quantity"]) for l in payload["lines"]]
        return int([(l["article"], l["quantity"]) for l in order["lines"]] == wanted)
    if op_type == "delete-order":
        return int(not [o for o in orders if o["id"] == payload["order"]])
    if op_type == "send-to-verona":
        (order,) = [o for o in orders if o["id"] == payload["order"]]
        return int(order["transfer_status"] != "Modifica" and bool(order["sales_id"]))
    if op_type == "create-customer":
        return sum(1 for c in customers_of(sim) if c["vat_number"] == payload["vat_number"])
    customer = next(c for c in customers_of(sim, agent) if c["account"] == payload["customer"])
    return int((customer["city"], customer["phone"]) == (payload["fields"]["city"], payload["fields"]["phone"]))


def _send_to_a_doomed_worker(client: Client, start_worker_processes: Any, op_type: str, point: str,
                             agent: str, payload: dict[str, Any], tmp_path: Any) -> str:
    """Send the write to a worker that SIGKILLs itself at `point`; its op id, once it is dead."""
    flag = tmp_path / "crashed"
    doomed = start_worker_processes(processes=1, threads=1, lock_ttl_ms=KILL_TEST_LOCK_TTL_MS,
                                    test_crash_at=f"{op_type}:{point}:{flag}")
    op_id = client.send(op_type, agent, payload)
    deadline = time.monotonic() + 60
    while not flag.exists() or doomed.proc.poll() is None:
        assert time.monotonic() < deadline, "the worker never reached the crash point"
        time.sleep(0.05)
    doomed.stop()
    assert client.status(op_id)["status"] == "running"  # the journal never heard the end
    return op_id


def _resume_in_a_fresh_worker(client: Client, start_worker_processes: Any, op_id: str) -> dict[str, Any]:
    """Start a fresh worker, re-send the operation's wake-up (as the sweep does); its end."""
    start_worker_processes(processes=1, threads=1, lock_ttl_ms=KILL_TEST_LOCK_TTL_MS)
    # An orphan is recoverable once its dead holder's lease has expired (until then its
    # agent looks busy): wait for that, as the sweep does.
    agent = client.status(op_id)["agent"]
    deadline = time.monotonic() + KILL_TEST_LOCK_TTL_MS / 1000 + 10
    while (client.broker.client.exists(lock_key(agent)) and client.status(op_id)["attempts"] < 2
           and time.monotonic() < deadline):
        time.sleep(0.05)
    resent = client.resend_pending(older_than_s=0)
    # The fresh worker's own sweep may have found the orphan first: then it is claimed again
    # (a second attempt, under a new lease) and its wake-up is not lost, so none is re-sent.
    assert resent == 1 or client.status(op_id)["attempts"] >= 2, resent
    return client.wait(op_id, 90)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("op_type", WRITES)
def test_a_write_killed_at_any_point_lands_exactly_once(
    op_type: str, point: str, client: Client, agents: list[str], sim: SimProcess, start_worker_processes, tmp_path
) -> None:
    agent = agents[WRITES.index(op_type)]
    payload = _payload(op_type, sim, agent, POINTS.index(point))
    # Given a worker that will SIGKILL itself at this point of this write
    op_id = _send_to_a_doomed_worker(client, start_worker_processes, op_type, point, agent,
                                     payload, tmp_path)
    # When a fresh worker starts and the operation's wake-up is re-sent (as the sweep does)
    status = _resume_in_a_fresh_worker(client, start_worker_processes, op_id)
    # Then the journal ends done, with the ERP's id, and the ERP holds the effect exactly once
    assert status["status"] == "done", status["error"]
    assert status["attempts"] == 2
    effect = _effect(op_type, sim, agent, payload, op_id)
    print(f"\nKILL {op_type:<16} {point:<15} erp_effects={effect} status={status['status']} "
          f"attempts={status['attempts']} result={status['result']}")
    assert effect == 1
    if op_type in ("submit-order", "edit-order", "delete-order", "send-to-verona"):
        assert status["result"]["order_id"]
    if op_type in ("create-customer", "update-customer"):
        assert status["result"]["customer_id"]


ORDER_POINTS = ("after_line_1", "before_save_close")
ORDER_WRITES = ("submit-order", "edit-order")


@pytest.mark.parametrize("point", ORDER_POINTS)
@pytest.mark.parametrize("op_type", ORDER_WRITES)
def test_an_order_write_killed_mid_lines_ends_with_one_whole_order(
    op_type: str, point: str, client: Client, agents: list[str], sim: SimProcess, start_worker_processes, tmp_path
) -> None:
    agent = agents[ORDER_WRITES.index(op_type)]
    n = 10 + ORDER_POINTS.index(point)
    wanted = order_for(sim, agent, n, lines=3)
    payload = wanted if op_type == "submit-order" else {"order": unsent_order(sim, agent)["id"], "lines": wanted["lines"]}
    before = {o["id"] for o in erp_orders(sim) if o["agent"] == agent}
    # Given a worker that will SIGKILL itself at this point of this order write (3 lines)
    op_id = _send_to_a_doomed_worker(client, start_worker_processes, op_type, point, agent,
                                     payload, tmp_path)
    orders = [o for o in erp_orders(sim) if o["agent"] == agent]
    if op_type == "submit-order" and point == "after_line_1":
        # the ERP holds a partial order: line 1 of 3, findable by its marker
        (partial,) = [o for o in orders if o["id"] not in before]
        assert partial["reference"] == marker(op_id) and len(partial["lines"]) == 1
    # When a fresh worker takes the operation again
    status = _resume_in_a_fresh_worker(client, start_worker_processes, op_id)
    # Then the journal ends done and the ERP holds one order with exactly the wanted lines
    assert status["status"] == "done", status["error"]
    assert status["attempts"] == 2
    orders = [o for o in erp_orders(sim) if o["agent"] == agent]
    lines = [(line["article"], line["quantity"]) for line in wanted["lines"]]
    if op_type == "submit-order":
        new = [o for o in orders if o["id"] not in before]
        assert [o["reference"] for o in new] == [marker(op_id)]  # no second order, no stray
        (order,) = new
        assert order["notes"] == wanted["notes"] and order["customer"] == wanted["customer"]
    else:
        assert {o["id"] for o in orders} == before
        (order,) = [o for o in orders if o["id"] == payload["order"]]
    assert [(line["article"], line["quantity"]) for line in order["lines"]] == lines
    assert status["result"]["order_id"] == order["id"]
    print(f"\nKILL {op_type:<16} {point:<17} lines={len(order['lines'])} result={status['result']}")
