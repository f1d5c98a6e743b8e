"""The agent's own records only (issue 17 item 1, FACTS §13): the live ERP opens any agent's
order or customer by its id, and so does the simulator; every operation naming an existing
record acts only when the agent's own list holds it, else fails at once, naming the record and
the agent, with nothing touched — end to end through the workers, Chromium and the simulator."""

from __future__ import annotations

from typing import Any

from archibot.client import Client
from archibot_devtools.local import SimProcess
from tests.fix_stack import wait_all

#: The operations whose payload names the customer (the others name an order or a document).
CUSTOMER_NAMED = ("update-customer", "refresh-customer", "submit-order")


def test_every_operation_on_another_agents_record_fails_at_once_and_touches_nothing(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent, owner = agents[0], agents[1]
    # Given the other agent's unsent order (with lines), customer and delivery note
    before = sim.state(include="orders,customers")
    order = next(o for o in before["orders"]
                 if o["agent"] == owner and o["transfer_status"] == "Modifica" and o["lines"])
    customer = next(c for c in before["customers"] if c["agent"] == owner)
    ddt = sim.call("GET", f"/__sim/documents?agent={owner}")["ddt"][0]
    sends = {
        "edit-order": {"order": str(order["id"]), "lines": [{"article": order["lines"][0]["article"],
                                                             "quantity": 99}]},
        "order-lines-pdf": {"order": str(order["id"])},
        "send-to-verona": {"order": str(order["id"])},
        "delete-order": {"order": str(order["id"])},
        "update-customer": {"customer": customer["account"], "fields": {"city": "Altrove"}},
        "refresh-customer": {"customer": customer["account"]},
        "submit-order": {"customer": customer["account"],
                         "lines": [{"article": order["lines"][0]["article"], "quantity": 1}]},
        "download-ddt-pdf": {"ddt": ddt["number"]},
    }
    # When this agent names them, each in its own operation
    done = wait_all(client, [client.send(op_type, agent, payload) for op_type, payload in sends.items()],
                    300)
    # Then every one failed on its first attempt, naming the record and the agent
    for op_type, op in zip(sends, done, strict=True):
        assert op["status"] == "failed", (op_type, op["status"], op["result"])
        assert op["attempts"] == 1, (op_type, op["error"])
        named = customer["account"] if op_type in CUSTOMER_NAMED else (
            ddt["number"] if "ddt" in op_type else str(order["id"]))
        assert named in op["error"] and repr(agent) in op["error"], (op_type, op["error"])
        assert "Nothing was done" in op["error"], (op_type, op["error"])
    # ...and the other agent's records are as they were: nothing opened for editing was saved
    after = sim.state(include="orders,customers")
    assert next(o for o in after["orders"] if o["id"] == order["id"]) == order
    assert len(after["orders"]) == len(before["orders"])  # no order for the other's customer
    assert next(c for c in after["customers"] if c["id"] == customer["id"]) == customer
    with client.db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM documents").fetchone()["n"] == 0
