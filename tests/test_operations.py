"""Every operation end to end, ERP rejections, lost responses and sync preemption."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from archibot.client import Client
from archibot.operations import operation_type
from archibot_devtools.local import SimProcess
from store.cache import Cache
from tests.fix_stack import erp_orders, marker, wait_all
from tests.test_submit_order import order_for


def unsent_order(sim: SimProcess, agent: str) -> dict[str, Any]:
    """A seeded order of the agent that is still editable."""
    return next(o for o in erp_orders(sim) if o["agent"] == agent and o["transfer_status"] == "Modifica")


def sent_order(sim: SimProcess, agent: str) -> dict[str, Any]:
    """A seeded order of the agent already sent to Verona."""
    return next(o for o in erp_orders(sim) if o["agent"] == agent and o["transfer_status"] != "Modifica")


def new_customer(n: int) -> dict[str, Any]:
    return {"name": f"Ferramenta Prova {n} S.r.l.", "vat_number": f"0{n:010d}", "street": "Via Roma 1",
            "zip": "37100", "city": "Verona", "email": f"prova{n}@example.it"}


def customers_of(sim: SimProcess, agent: str | None = None) -> list[dict[str, Any]]:
    customers: list[dict[str, Any]] = sim.state(include="customers")["customers"]
    return [c for c in customers if agent is None or c["agent"] == agent]


def test_every_write_type_lands_once_in_send_order(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given "submit, edit, send" and "submit, delete" and "create, update" sent at once
    start_worker_processes(processes=2, threads=5)
    a, b = agents[0], agents[1]
    submit = client.send("submit-order", a, order_for(sim, a, 0))
    wanted = order_for(sim, a, 1, lines=1)["lines"]
    edit = client.send("edit-order", a, {"order": submit, "lines": wanted, "notes": "cambiato"})
    send = client.send("send-to-verona", a, {"order": submit})
    doomed = client.send("submit-order", b, order_for(sim, b, 0))
    delete = client.send("delete-order", b, {"order": doomed})
    create = client.send("create-customer", b, new_customer(1))
    update = client.send("update-customer", b, {"customer": customers_of(sim, b)[0]["account"],
                                                "fields": {"city": "Vicenza", "phone": "+390444123456"}})
    statuses = wait_all(client, [submit, edit, send, doomed, delete, create, update])
    assert [s["status"] for s in statuses] == ["done"] * 7, [s["error"] for s in statuses]
    # and each result has its registry type's result model (no field it declares is missing)
    for s in statuses:
        operation_type(s["type"]).result.model_validate(s["result"])
    # and where the submit's browser time went, by step (self time: each ms counted once)
    spans = statuses[0]["result"]["step_ms"]
    assert {"navigation", "idle", "typing", "readback"} <= spans.keys(), spans
    assert spans["navigation"] > 0 and spans["idle"] > 0
    # Then the ERP holds each effect exactly once
    orders = erp_orders(sim)
    order_id = statuses[0]["result"]["order_id"]
    (order,) = [o for o in orders if o["id"] == order_id]
    assert [(l["article"], l["quantity"]) for l in order["lines"]] == [(l["article"], l["quantity"]) for l in wanted]
    assert order["notes"] == "cambiato"
    assert order["transfer_status"] != "Modifica" and order["sales_id"] == statuses[2]["result"]["sales_id"]
    assert not [o for o in orders if o["reference"] == marker(doomed)]
    created = [c for c in customers_of(sim) if c["vat_number"] == new_customer(1)["vat_number"]]
    assert len(created) == 1 and created[0]["agent"] == b
    updated = next(c for c in customers_of(sim, b) if c["account"] == statuses[6]["result"]["account"])
    assert (updated["city"], updated["phone"]) == ("Vicenza", "+390444123456")
    # and each agent's writes ran in the order they were sent
    rows = {str(r["id"]): r for r in client.reports.recent(50)}
    for chain in ([submit, edit, send], [doomed, delete, create, update]):
        starts = [rows[op]["started_at"] for op in chain]
        assert starts == sorted(starts)


def test_erp_rejections_fail_once_with_the_erps_message_and_the_agent_goes_on(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[2]
    sent = sent_order(sim, agent)
    existing_vat = customers_of(sim, agent)[0]["vat_number"]
    ops = [
        client.send("edit-order", agent, {"order": sent["id"], "lines": [{"article": "H1.314.016", "quantity": 1}]}),
        client.send("delete-order", agent, {"order": sent["id"]}),
        client.send("create-customer", agent, {**new_customer(2), "vat_number": existing_vat}),
        client.send("submit-order", agent, {**order_for(sim, agent, 0), "customer": "9999999"}),
        client.send("submit-order", agent, order_for(sim, agent, 1)),
    ]
    statuses = wait_all(client, ops)
    assert [s["status"] for s in statuses] == ["failed"] * 4 + ["done"]
    assert all(s["attempts"] == 1 for s in statuses)
    assert "order" in statuses[0]["error"] and "order" in statuses[1]["error"]
    assert "Il numero IVA è già utilizzato" in statuses[2]["error"] and "vat_number" in statuses[2]["error"]
    assert "customer" in statuses[3]["error"]
    # nothing partial: the sent order is untouched, no customer was added
    assert next(o for o in erp_orders(sim) if o["id"] == sent["id"]) == sent
    assert len([c for c in customers_of(sim) if c["vat_number"] == existing_vat]) == 1


def test_every_write_survives_a_lost_response_without_doing_it_twice(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given an ERP that commits every save but loses every response
    start_worker_processes(processes=1, threads=2)
    sim.set_faults(lost_response_rate=1.0)
    agent = agents[3]
    existing = unsent_order(sim, agent)
    customer = customers_of(sim, agent)[1]
    # (order_for's customer gives its lines no default discount: for one that gives 20 %, each
    # LINEDISC clear round is a save of its own, whose lost answer costs one attempt more)
    ops = [
        client.send("submit-order", agent, order_for(sim, agent, 0)),
        client.send("edit-order", agent, {"order": existing["id"], "lines": order_for(sim, agent, 2, lines=1)["lines"]}),
        client.send("send-to-verona", agent, {"order": existing["id"]}),
        client.send("create-customer", agent, new_customer(3)),
        client.send("update-customer", agent, {"customer": customer["account"], "fields": {"city": "Bassano"}}),
    ]
    statuses = wait_all(client, ops, timeout_s=180)
    # Then each ends done on its second attempt, having found its own effect
    assert [s["status"] for s in statuses] == ["done"] * 5, [s["error"] for s in statuses]
    assert all(s["attempts"] == 2 for s in statuses), [s["attempts"] for s in statuses]
    orders = erp_orders(sim)
    assert len([o for o in orders if o["reference"] == marker(ops[0])]) == 1
    assert len([c for c in customers_of(sim) if c["vat_number"] == new_customer(3)["vat_number"]]) == 1
    writes = sim.counters()["writes"]
    # one ERP save each, never two (an order form's lines commit at once, counted apart)
    assert sum(int(v) for k, v in writes.items() if k != "order_line") == 5


def test_a_write_preempts_the_agents_running_sync_which_resumes_and_completes(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given a products sync (30 pages) running for an agent on a slow ERP
    sim.set_faults(latency_ms=60)
    start_worker_processes(processes=1, threads=2)
    agent = agents[4]
    sync = client.send("sync-products", agent, {})
    deadline = time.monotonic() + 120
    while (client.status(sync)["progress"] or {}).get("pages_done", 0) < 3:
        assert time.monotonic() < deadline, "the products sync never got past page 3"
        time.sleep(0.05)
    # When the agent's write is sent
    write = client.send("submit-order", agent, order_for(sim, agent, 0, lines=1))
    write_status = client.wait(write, 120)
    sync_status = client.wait(sync, 300)
    # Then the write started within about one page of being sent
    row = client.journal.get(write)
    assert row is not None and write_status["status"] == "done"
    waited = row["started_at"] - row["created_at"]
    page_time = _page_time(client, sync)
    assert waited <= page_time * 2, f"the write waited {waited} for a sync page of {page_time}"
    # and the sync resumed where it stopped and completed with the full catalogue
    assert sync_status["status"] == "done", sync_status["error"]
    assert sync_status["result"]["resumed_at_page"] > 0
    products = sim.state(include="products")["products"]
    assert Cache(client.db).count("products") == len(products) == sync_status["result"]["rows"]


def _page_time(client: Client, op_id: str) -> dt.timedelta:
    row = client.journal.get(op_id)
    assert row is not None
    pages = max(1, int(row["progress"]["pages_done"]))
    return dt.timedelta(milliseconds=row["exec_ms"] / pages)


def test_syncs_mirror_the_erp_and_forget_what_disappeared(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[5]
    first = wait_all(client, [client.send("sync-customers", agent, {}), client.send("sync-orders", agent, {})])
    assert [s["status"] for s in first] == ["done", "done"], [s["error"] for s in first]
    cache = Cache(client.db)
    assert cache.count("customers", agent) == len(customers_of(sim, agent)) == first[0]["result"]["rows"]
    agent_orders = [o for o in erp_orders(sim) if o["agent"] == agent]
    assert {r["id"] for r in cache.rows("orders", agent)} == {o["id"] for o in agent_orders}
    assert first[0]["progress"]["pages_done"] == first[0]["progress"]["pages_total"]
    # When an order disappears from the ERP and the agent syncs again
    gone = unsent_order(sim, agent)
    assert client.wait(client.send("delete-order", agent, {"order": gone["id"]}), 60)["status"] == "done"
    again = client.wait(client.send("sync-orders", agent, {}), 60)
    # Then one sync that misses it keeps it (a glitch of one read removes nothing) …
    assert again["status"] == "done" and again["result"]["removed"] == 0, again
    assert gone["id"] in {r["id"] for r in cache.rows("orders", agent)}
    # … and the second one in a row removes it
    third = client.wait(client.send("sync-orders", agent, {}), 60)
    assert third["status"] == "done" and third["result"]["removed"] == 1, third
    assert gone["id"] not in {r["id"] for r in cache.rows("orders", agent)}
