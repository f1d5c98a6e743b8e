"""One operation per agent across processes: no overlaps, per-agent FIFO, requeues, dead holders."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from collections import defaultdict

import redis

from archibot.client import Client
from archibot_devtools.local import SimProcess
from pool.procstat import process_tree
from tests.fix_stack import TEST_LOCK_TTL_MS, erp_orders, marker, wait_all
from tests.test_submit_order import order_for

#: Writes per agent in the twenty-agent test: three make two send-order pairs per agent, and
#: each write is one Chromium order (the test's whole cost: ~1 s of CPU each), so 60 of them
#: still check what 100 did — 20 agents on 10 threads and 5 contexts a browser, each agent's
#: writes racing each other for its lock across both processes — in 60 % of the time.
WRITES_PER_AGENT = 3


def test_twenty_agents_across_two_processes_never_overlap_and_keep_send_order(
    client: Client, sim: SimProcess, start_worker_processes
) -> None:
    # Given 2 worker processes × 5 threads and 20 agents with 3 writes each, sent all at once
    sim.reset(seed=2, agents=20)
    for agent in sim.state(include="agents")["agents"]:
        client.agents.add(agent["username"], agent["password"])
    agents = [a["username"] for a in sim.state(include="agents")["agents"]]
    start_worker_processes(processes=2, threads=5)
    sent: dict[str, list[str]] = defaultdict(list)
    for n in range(WRITES_PER_AGENT):
        for agent in agents:
            sent[agent].append(client.send("submit-order", agent, order_for(sim, agent, n, lines=1)))
    # When all of them have ended
    statuses = wait_all(client, [op for ops in sent.values() for op in ops], timeout_s=600)
    # Then all are done, the ERP saw no two operations of one agent at once,
    assert [s["status"] for s in statuses] == ["done"] * (len(agents) * WRITES_PER_AGENT), {
        s["error"] for s in statuses}
    assert sim.counters()["overlaps"] == 0
    # each agent's writes ran in send order, one after the other,
    rows = {str(r["id"]): r for r in client.reports.recent(1000)}
    for agent, op_ids in sent.items():
        runs = [(rows[o]["started_at"], rows[o]["finished_at"]) for o in op_ids]
        for (_, prev_end), (next_start, _) in itertools.pairwise(runs):
            assert next_start >= prev_end, f"{agent}'s writes ran out of send order"
    # and each order exists exactly once.
    references = [o["reference"] for o in erp_orders(sim)]
    assert all(references.count(marker(o)) == 1 for ops in sent.values() for o in ops)


def test_a_busy_agents_messages_are_requeued_not_retried(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes
) -> None:
    start_worker_processes(processes=2, threads=5)
    agent = agents[0]
    op_ids = [client.send("submit-order", agent, order_for(sim, agent, n, lines=1)) for n in range(4)]
    statuses = wait_all(client, op_ids)
    assert [s["status"] for s in statuses] == ["done"] * 4
    assert all(s["attempts"] == 1 for s in statuses)  # not one retry
    assert sum(s["requeues"] for s in statuses) >= 1  # the busy agent's messages were requeued
    assert sim.counters()["overlaps"] == 0


def test_a_worker_killed_while_holding_the_lock_blocks_its_agent_no_longer_than_the_lease(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes, redis_client: redis.Redis
) -> None:
    # Given two independent worker groups and a slow ERP
    sim.set_faults(latency_ms=400)
    groups = [start_worker_processes(processes=1, threads=2) for _ in range(2)]
    agent = agents[0]
    first = client.send("submit-order", agent, order_for(sim, agent, 0, lines=3))
    # When the worker running it is killed with SIGKILL while it holds the agent's lock
    deadline = time.monotonic() + 30
    while client.status(first)["status"] != "running":
        assert time.monotonic() < deadline, "the operation never started"
        time.sleep(0.05)
    row = client.journal.get(first)
    assert row is not None
    holder_pid = int(str(row["worker"]).rsplit(":", 1)[1])
    lock_key = f"archibot:lock:{agent}"
    assert redis_client.exists(lock_key)
    assert holder_pid in [p for g in groups for p in g.worker_pids()]
    tree = process_tree(holder_pid)  # the worker and its Chromium
    os.kill(holder_pid, signal.SIGKILL)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):  # a Chromium helper that just ended
            os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    # Then the lock is free again within the lease
    while redis_client.exists(lock_key):
        assert time.monotonic() - killed_at < TEST_LOCK_TTL_MS / 1000 + 0.5, "the dead holder's lock outlived its lease"
        time.sleep(0.05)
    # and the agent's operations go on: the orphaned one is claimed again and lands once
    sim.set_faults(latency_ms=0)
    second = client.send("submit-order", agent, order_for(sim, agent, 1, lines=1))
    statuses = wait_all(client, [first, second], timeout_s=120)
    assert [s["status"] for s in statuses] == ["done", "done"], [s["error"] for s in statuses]
    assert statuses[0]["attempts"] == 2
    references = [o["reference"] for o in erp_orders(sim)]
    assert references.count(marker(first)) == 1
    assert references.count(marker(second)) == 1
