"""submit-order end to end: real worker processes, real Chromium, the simulator over HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections import Counter
from typing import Any

import redis

from archibot.client import Client
from archibot_devtools.bench import orderable_customers
from archibot_devtools.local import SimProcess
from tests.fix_stack import erp_orders, marker, wait_all

#: LINEDISC of the customers order_for picks by default: none, so an order costs no clear
#: rounds (they are tested in tests/test_line_discounts.py and tests/test_live_erp_rules.py).
PLAIN = "N/A"
STREET_PRICE = "Discount to get street price"


def order_for(
    sim: SimProcess, agent: str, n: int = 0, lines: int = 2, line_discount: str = PLAIN
) -> dict[str, Any]:
    """A valid order of ``agent`` built from the simulator's own data, for one of its
    orderable customers whose LINEDISC is ``line_discount``."""
    state = sim.state(include="customers,products")
    customers = [c for c in orderable_customers(state)
                 if c["agent"] == agent and c["line_discount"] == line_discount]
    products = state["products"][n * lines : (n + 1) * lines]
    return {
        "customer": customers[n % len(customers)]["account"],
        "lines": [
            {"article": p["item_id"], "quantity": p["variants"][0]["package_content"] * (i + 2)}
            for i, p in enumerate(products)
        ],
        "notes": f"test order {n}",
    }


def test_orders_land_exactly_once_with_the_right_customer_and_lines(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    # Given two worker processes and three agents with two orders each
    start_worker_processes(processes=2, threads=5)
    sent = {}
    for agent in agents[:3]:
        for n in range(2):
            payload = order_for(sim, agent, n)
            sent[client.send("submit-order", agent, payload)] = (agent, payload)
    # When every operation has ended
    statuses = wait_all(client, list(sent))
    # Then every one is done, and the ERP holds each order exactly once, as asked
    assert [s["status"] for s in statuses] == ["done"] * len(sent), [s["error"] for s in statuses]
    orders = erp_orders(sim)
    by_marker = Counter(o["reference"] for o in orders)
    for status in statuses:
        agent, payload = sent[status["id"]]
        assert by_marker[marker(status["id"])] == 1
        order = next(o for o in orders if o["reference"] == marker(status["id"]))
        assert order["id"] == status["result"]["order_id"]
        assert order["agent"] == agent  # each agent's own session made it
        assert order["customer"] == payload["customer"]
        assert [(l["article"], l["quantity"]) for l in order["lines"]] == [
            (l["article"], l["quantity"]) for l in payload["lines"]
        ]
        assert order["notes"] == payload["notes"]
        assert status["attempts"] == 1
    assert sim.counters()["overlaps"] == 0


def test_an_expired_session_is_logged_in_again_and_the_order_completes(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[0]
    first = client.wait(client.send("submit-order", agent, order_for(sim, agent, 0)), 60)
    assert first["status"] == "done"
    logins_before = sim.counters()["logins"].get(agent, 0)
    # When the ERP drops the agent's session between two operations
    sim.expire(agent)
    second = client.wait(client.send("submit-order", agent, order_for(sim, agent, 1)), 60)
    # Then the worker logs in again and completes the order, once
    assert second["status"] == "done", second["error"]
    assert sim.counters()["logins"][agent] == logins_before + 1
    references = [o["reference"] for o in erp_orders(sim)]
    assert references.count(marker(second["id"])) == 1


def test_a_killed_chromium_is_survived_by_the_next_operation(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    workers = start_worker_processes(processes=1, threads=2)
    agent = agents[1]
    assert client.wait(client.send("submit-order", agent, order_for(sim, agent, 0)), 60)["status"] == "done"
    # When the worker's Chromium dies
    (worker_pid,) = workers.worker_pids()
    chromium = [int(p) for p in subprocess.run(["pgrep", "-P", str(worker_pid), "chrom"],
                                               capture_output=True, text=True, check=False).stdout.split()]
    assert chromium, "the worker has no Chromium child"
    for pid in chromium:
        os.kill(pid, signal.SIGKILL)
    # Then the next operation relaunches it and completes
    status = client.wait(client.send("submit-order", agent, order_for(sim, agent, 1)), 90)
    assert status["status"] == "done", status["error"]
    assert [o["reference"] for o in erp_orders(sim)].count(marker(status["id"])) == 1


def test_a_wrong_password_fails_once_and_says_so(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[2]
    client.agents.add(agent, "not-the-password")
    status = client.wait(client.send("submit-order", agent, order_for(sim, agent, 0)), 60)
    assert status["status"] == "failed"
    assert status["attempts"] == 1
    assert "refused the login" in status["error"] and "archibot agents add" in status["error"]
    assert "not-the-password" not in status["error"]
    assert sim.counters()["logins"].get(agent, 0) == 0


def test_an_unknown_article_fails_with_the_erps_message_and_saves_nothing(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[3]
    payload = order_for(sim, agent, 0)
    payload["lines"].append({"article": "ZZ.999.999", "quantity": 3})
    status = client.wait(client.send("submit-order", agent, payload), 60)
    assert status["status"] == "failed"
    assert status["attempts"] == 1
    assert "ZZ.999.999" in status["error"] or "artic" in status["error"].lower()
    # Nothing half-saved: the agent has no order with this marker, nor any new order at all
    assert not [o for o in erp_orders(sim) if o["reference"] == marker(status["id"])]
    # and the agent's next operation still runs
    ok = client.wait(client.send("submit-order", agent, order_for(sim, agent, 1)), 60)
    assert ok["status"] == "done", ok["error"]


def test_passwords_never_reach_redis_or_the_logs(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes, redis_client: redis.Redis, tmp_path
) -> None:
    start_worker_processes(processes=1, threads=2, )
    passwords = [a["password"] for a in sim.state(include="agents")["agents"]]
    op_ids = [client.send("submit-order", agent, order_for(sim, agent, 0)) for agent in agents[:2]]
    # While messages are in flight and after they ran
    dumps = [redis_client.dump(k) or b"" for k in redis_client.keys("*")]
    wait_all(client, op_ids)
    dumps += [redis_client.dump(k) or b"" for k in redis_client.keys("*")]
    log_text = (tmp_path / "workers.log").read_text()
    assert "op_done" in log_text  # the log is really there
    for password in passwords:
        assert all(password.encode() not in d for d in dumps)
        assert password not in log_text
    for cookie in ("Login=", "ASP.NET_SessionId=", "xafkidemovbUserName="):
        assert cookie not in log_text
    # nor a cookie's value: the Login ticket is hundreds of upper-case hex digits
    assert re.search(r"[0-9A-F]{300,}", log_text) is None
