"""The periodic actors (actors/schedule.py) as periodiq sends them, run by a real worker."""

from __future__ import annotations

import time
from typing import Any

import dramatiq

from archibot.client import Client
from archibot.operations import PERIODIC_SYNCS
from archibot_devtools.local import SimProcess


def _tick(client: Client, actor_name: str) -> None:
    """What periodiq sends at a cron tick: the actor's message, with no argument."""
    client.broker.enqueue(dramatiq.Message(queue_name=client.settings.queue, actor_name=actor_name,
                                           args=(), kwargs={}, options={}))


def _syncs(client: Client, op_type: str) -> list[Any]:
    return client.reports.find(op_type=op_type, limit=1000)


def _wait_for(predicate: Any, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_the_fan_out_sends_each_agent_one_sync_per_period_and_resend_stuck_runs(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any
) -> None:
    # Given a worker and the agents' credentials
    workers = start_worker_processes(processes=1, threads=2)
    # When the 15-minute tick arrives twice in one period (two schedulers started by mistake)
    _tick(client, "schedule_order_and_customer_syncs")
    _wait_for(lambda: all(len(_syncs(client, t)) == len(agents) for t in PERIODIC_SYNCS))
    _tick(client, "schedule_order_and_customer_syncs")
    # and the minute's resend_stuck tick, twice too
    _tick(client, "resend_stuck")
    _tick(client, "resend_stuck")
    for duplicate in ("periodic_duplicate type=sync-orders", "periodic_duplicate name=resend_stuck"):
        _wait_for(lambda d=duplicate: any(d in line for line in workers.log_lines))
    # Then each agent got one orders and one customers sync, sent by the worker's own sender,
    # and every tick ran (the second of each found its period taken)
    for op_type in PERIODIC_SYNCS:
        assert sorted(str(r["agent"]) for r in _syncs(client, op_type)) == sorted(agents)
    log = "".join(workers.log_lines)
    assert "periodic_sync type=sync-orders" in log and "Traceback" not in log
