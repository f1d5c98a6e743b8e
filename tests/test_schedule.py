"""The periodic actors (actors/schedule.py) as periodiq sends them, run by a real worker."""

from __future__ import annotations

import time
from typing import Any

import dramatiq

from archibot.client import Client
from archibot.operations import SYNC_TYPES
from archibot_devtools.local import SimProcess


def _tick(client: Client, actor_name: str) -> None:
    """What periodiq sends at a cron tick: the actor's message, with no argument."""
    client.broker.enqueue(dramatiq.Message(queue_name=client.settings.queue, actor_name=actor_name,
                                           args=(), kwargs={}, options={}))


def _wait_for(predicate: Any, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_the_freshness_tick_sends_the_most_overdue_syncs_once_per_period_and_resend_stuck_runs(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any
) -> None:
    # Given a worker and the agents' credentials, no list ever synced (an hour's tick period,
    # so that both ticks fall in one)
    workers = start_worker_processes(processes=1, threads=2, freshness_tick_s=3600)
    cap = client.settings.background_syncs_max
    # When the minute's freshness tick arrives
    _tick(client, "keep_syncs_fresh")
    _wait_for(lambda: len(_all_syncs(client)) >= cap)
    # and again in the same period (two schedulers started by mistake), once under the name of
    # the earlier release's fan-out (a scheduler not yet upgraded)
    _tick(client, "keep_syncs_fresh")
    _tick(client, "schedule_order_and_customer_syncs")
    # and the minute's resend_stuck tick, twice too
    _tick(client, "resend_stuck")
    _tick(client, "resend_stuck")
    _wait_for(lambda: _count(workers, "periodic_duplicate name=keep_syncs_fresh") == 2)
    _wait_for(lambda: _count(workers, "periodic_duplicate name=resend_stuck") >= 1)
    # Then the worker's own sender sent the cap's worth of syncs, once: every agent's orders
    # first (never synced, the tightest target), the first agents first
    assert sorted((str(r["agent"]), r["op_type"]) for r in _all_syncs(client)) == [
        (agent, "sync-orders") for agent in sorted(agents)[:cap]
    ]
    log = "".join(workers.log_lines)
    assert f"freshness_tick sent={cap}" in log and "Traceback" not in log


def _all_syncs(client: Client) -> list[Any]:
    return [r for r in client.reports.find(limit=1000) if r["op_type"] in SYNC_TYPES]


def _count(workers: Any, needle: str) -> int:
    return sum(needle in line for line in workers.log_lines)
