"""Orders as the live ERP takes them (issue 17): rules of the real Archibald the simulator holds
and the bot keeps — end to end through the workers, Chromium and the simulator."""

from __future__ import annotations

from typing import Any

from archibot.client import Client
from archibot_devtools.local import SimProcess
from tests.fix_stack import erp_orders, marker, wait_all
from tests.test_submit_order import STREET_PRICE, order_for


def test_a_customer_blocked_completely_takes_no_order_and_one_blocked_for_invoices_does(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[0]
    # Given two of the agent's customers: one blocked for everything, one for invoices only
    # whose lines get the street price's 20 % (cleared end to end through the workers)
    blocked = order_for(sim, agent, 0)
    invoices_only = order_for(sim, agent, 1, lines=3, line_discount=STREET_PRICE)
    accounts = {c["account"]: c for c in sim.state(include="customers")["customers"]}
    for payload, flag in ((blocked, "Completo"), (invoices_only, "Fattura:")):
        sim.call("POST", f"/__sim/customers/{accounts[payload['customer']]['id']}", {"blocked": flag})
    before = len(erp_orders(sim))
    # When the agent orders for each
    refused_id, taken_id = (client.send("submit-order", agent, p) for p in (blocked, invoices_only))
    refused, taken = wait_all(client, [refused_id, taken_id], 240)
    # Then the blocked one fails at once, naming the customer, and no order was created for it
    assert refused["status"] == "failed" and refused["attempts"] == 1, refused
    assert blocked["customer"] in refused["error"] and "blocked" in refused["error"], refused["error"]
    orders = erp_orders(sim)
    assert not [o for o in orders if o["reference"] == marker(refused_id)]
    # ...and the one blocked for invoices only took its order
    assert taken["status"] == "done", taken
    taken_order = [o for o in orders if o["reference"] == marker(taken_id)]
    assert [o["customer"] for o in taken_order] == [invoices_only["customer"]]
    assert [ln["line_percent"] for ln in taken_order[0]["lines"]] == [0.0] * 3
    assert len(orders) == before + 1


def _customer_with_addresses(sim: SimProcess, agent: str) -> dict[str, Any]:
    """One of the agent's orderable customers with an alternative address in another city."""
    return next(c for c in sim.state(include="customers")["customers"]
                if c["agent"] == agent and c["blocked"] != "Completo"
                and any(a["city"] != c["city"] for a in c["addresses"]))


def test_an_order_goes_to_the_alternative_address_the_payload_names(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[0]
    # Given a customer with alternative addresses, and three orders for it: one to an address
    # named by its ERP id, one by street and city, one with no address (the customer's own)
    customer = _customer_with_addresses(sim, agent)
    other = next(a for a in customer["addresses"] if a["city"] != customer["city"])
    lines = order_for(sim, agent, 0)["lines"]
    payloads = [
        {"customer": customer["account"], "lines": lines, "delivery_address": other["id"]},
        {"customer": customer["account"], "lines": lines[:1],
         "delivery_address": {"street": other["street"].upper(), "city": other["city"]}},
        {"customer": customer["account"], "lines": lines[:1]},
    ]
    # When the agent submits them
    ops = wait_all(client, [client.send("submit-order", agent, p) for p in payloads], 300)
    # Then each order was saved with the address asked for, though every line callback put
    # the customer's default back: the bot set it last and read it back
    assert [(op["status"], op["attempts"]) for op in ops] == [("done", 1)] * 3, [
        op["error"] for op in ops]
    held = {o["reference"]: o for o in erp_orders(sim)}
    saved = [held[marker(op["id"])] for op in ops]
    assert [o["delivery_address_id"] for o in saved] == [other["id"], other["id"], ""]
    assert saved[0]["delivery_address"] == f"{other['street']}, {other['zip']} {other['city']}"
    assert saved[2]["delivery_address"] == (
        f"{customer['street']}, {customer['zip']} {customer['city']}")


def test_an_address_the_customer_lacks_fails_at_once_and_creates_nothing(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[0]
    customer = _customer_with_addresses(sim, agent)
    before = len(erp_orders(sim))
    payload = {**order_for(sim, agent, 0), "customer": customer["account"],
               "delivery_address": {"street": "Via Inesistente 999", "city": "Nessunluogo"}}
    op = client.wait(client.send("submit-order", agent, payload), 120)
    assert op["status"] == "failed" and op["attempts"] == 1, op
    assert "Via Inesistente 999" in op["error"] and customer["account"] in op["error"]
    assert len(erp_orders(sim)) == before
