"""The freshness scheduler (actors/schedule.py, store/freshness.py) against a real journal.

Each test seeds ``operations`` and ``sync_state`` rows as the workers would have left them,
calls one tick directly (no periodiq process) and reads what it journaled.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import redis

from actors.schedule import freshness_policy, keep_fresh
from archibot.client import Client
from archibot.keys import periodic_key
from archibot.operations import CATALOGUE_SYNCS, SYNC_TYPES
from archibot.settings import Settings
from store.cache import EVERYONE
from store.db import Database

PER_AGENT = tuple(t for t in SYNC_TYPES if t not in CATALOGUE_SYNCS)


def _agents(client: Client, count: int) -> list[str]:
    names = [f"agent{i:02d}" for i in range(count)]
    for name in names:
        client.agents.add(name, "secret")
    return names


def _op(db: Database, agent: str, op_type: str, status: str, *, minutes_ago: float,
        is_write: bool = False, not_before_in_min: float | None = None,
        progress: dict[str, Any] | None = None) -> str:
    """A journal row created ``minutes_ago`` (an ended one finished then too)."""
    op_id = str(uuid.uuid4())
    ended = status in ("done", "failed", "cancelled")
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO operations (id, agent, op_type, is_write, payload, status, created_at,"
            " started_at, finished_at, not_before, progress)"
            " VALUES (%(id)s, %(agent)s, %(type)s, %(write)s, %(payload)s, %(status)s,"
            "  now() - %(ago)s::float8 * interval '1 minute',"
            "  CASE WHEN %(status)s::text = 'queued' THEN NULL"
            "   ELSE now() - %(ago)s::float8 * interval '1 minute' END,"
            "  CASE WHEN %(ended)s::bool THEN now() - %(ago)s::float8 * interval '1 minute' END,"
            "  now() + %(nb)s::float8 * interval '1 minute', %(progress)s)",
            {"id": op_id, "agent": agent, "type": op_type, "write": is_write,
             "payload": json.dumps({}), "status": status, "ago": minutes_ago, "ended": ended,
             "nb": not_before_in_min, "progress": None if progress is None else json.dumps(progress)},
        )
    return op_id


def _state(db: Database, agent: str, op_type: str, *, complete_min_ago: float | None,
           skipped_min_ago: float | None = None) -> None:
    """A ``sync_state`` row as the sync runner writes it."""
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO sync_state (agent, op_type, last_complete, last_skipped, skipped_total)"
            " VALUES (%s, %s, now() - %s::float8 * interval '1 minute',"
            "  now() - %s::float8 * interval '1 minute', %s)",
            (agent, op_type, complete_min_ago, skipped_min_ago, int(skipped_min_ago is not None)),
        )


def _all_fresh(db: Database, agents: list[str], *, except_: set[tuple[str, str]] | None = None) -> None:
    """Every list of ``agents`` walked a minute ago, but those in ``except_``."""
    for agent in agents:
        for op_type in SYNC_TYPES:
            if (agent, op_type) not in (except_ or set()):
                _state(db, agent, op_type, complete_min_ago=1)


def _queued_syncs(db: Database) -> list[tuple[str, str]]:
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT agent, op_type FROM operations WHERE NOT is_write AND status = 'queued'"
            " AND not_before IS NULL ORDER BY agent, op_type"
        ).fetchall()
    return [(str(r["agent"]), str(r["op_type"])) for r in rows]


def _new_period(redis_client: redis.Redis) -> None:
    """Forget the tick's period key: the next call is the next period's tick."""
    for key in redis_client.scan_iter(match=periodic_key("keep_syncs_fresh", 0)[:-1] + "*"):
        redis_client.delete(key)


def _settings(client: Client, **changes: Any) -> Settings:
    return dataclasses.replace(client.settings, **changes)


def test_every_sync_type_has_a_target_and_the_speedup_divides_them() -> None:
    policy = freshness_policy(Settings(freshness_speedup=60))
    assert set(policy.targets) == set(SYNC_TYPES)
    assert policy.targets["sync-orders"].active_s == 20 and policy.targets["sync-orders"].idle_s == 60
    assert policy.targets["sync-customers"].idle_s == 120
    assert policy.targets["sync-products"].idle_s == 240
    assert policy.shared == frozenset({"sync-products", "sync-prices"}) and policy.cap == 3
    assert policy.active_window_s == 60


def test_a_stale_agent_gets_a_sync_and_a_fresh_one_does_not(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    # Given two agents whose every list is fresh, except: stale's orders were last walked
    # 2 h ago; fresh's orders have no sync_state (the journal's done sync, 5 min ago, counts)
    # and its customers' last walk is old but a "skipped: unchanged" check is recent
    stale, fresh = _agents(client, 2)
    _all_fresh(db, [stale, fresh], except_={(stale, "sync-orders"), (fresh, "sync-orders"),
                                                 (fresh, "sync-customers")})
    _state(db, stale, "sync-orders", complete_min_ago=120)
    _op(db, fresh, "sync-orders", "done", minutes_ago=5)
    _state(db, fresh, "sync-customers", complete_min_ago=600, skipped_min_ago=3)
    # When the scheduler ticks
    decided = keep_fresh(client)
    # Then only the stale list got a sync, journaled and queued
    assert decided is not None
    assert [(d.agent, d.op_type) for d in decided.send] == [(stale, "sync-orders")]
    assert _queued_syncs(db) == [(stale, "sync-orders")]


def test_an_active_agent_has_the_tighter_target(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    # Given two agents whose orders were last synced 30 minutes ago; one of them sent an
    # order 10 minutes ago (active: 20 min target), the other nothing today (idle: 60 min)
    active, idle = _agents(client, 2)
    _all_fresh(db, [active, idle], except_={(active, "sync-orders"), (idle, "sync-orders")})
    _state(db, active, "sync-orders", complete_min_ago=30)
    _state(db, idle, "sync-orders", complete_min_ago=30)
    _op(db, active, "submit-order", "done", minutes_ago=10, is_write=True)
    # When the scheduler ticks
    keep_fresh(client)
    # Then the active agent's orders are synced, the idle one's are fresh enough
    assert _queued_syncs(db) == [(active, "sync-orders")]


def test_an_agent_with_a_write_pending_is_left_alone(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    # Given two agents whose orders and customers were never synced; one has a write queued
    # and the other a write done an hour and a half ago (not pending, not active)
    busy, free = _agents(client, 2)
    stale = {(a, t) for a in (busy, free) for t in ("sync-orders", "sync-customers")}
    _all_fresh(db, [busy, free], except_=stale)
    _op(db, busy, "update-customer", "queued", minutes_ago=1, is_write=True)
    _op(db, free, "update-customer", "done", minutes_ago=90, is_write=True)
    # When the scheduler ticks
    decided = keep_fresh(client)
    # Then only the free agent gets syncs; the busy one is reported as busy
    assert decided is not None and decided.busy == [busy]
    assert _queued_syncs(db) == [(free, "sync-customers"), (free, "sync-orders")]


def test_no_more_than_the_cap_of_background_syncs_at_once(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    # Given ten agents whose orders were last synced about 2 h ago
    agents = _agents(client, 10)
    _all_fresh(db, agents, except_={(a, "sync-orders") for a in agents})
    for minutes_ago, agent in enumerate(agents, start=100):
        _state(db, agent, "sync-orders", complete_min_ago=minutes_ago)
    # When the scheduler ticks
    first = keep_fresh(client)
    # Then three syncs are sent, the most overdue first, and seven wait
    assert first is not None and len(first.send) == 3 and len(first.deferred) == 7
    assert [d.agent for d in first.send] == agents[::-1][:3]
    assert len(_queued_syncs(db)) == 3
    # When the next period's tick comes while the three are still queued or running
    with db.connection() as conn:
        conn.execute("UPDATE operations SET status = 'running', started_at = now()"
                     " WHERE agent = %s AND op_type = 'sync-orders'", (agents[-1],))
    _new_period(redis_client)
    second = keep_fresh(client)
    # Then nothing more is sent
    assert second is not None and second.send == [] and len(_queued_syncs(db)) == 2
    # When one of them ends and the next period's tick comes
    with db.connection() as conn:
        conn.execute("UPDATE operations SET status = 'done', finished_at = now()"
                     " WHERE agent = %s AND op_type = 'sync-orders'", (agents[-1],))
    _new_period(redis_client)
    third = keep_fresh(client)
    # Then exactly one more is sent: three in flight again
    assert third is not None and [d.agent for d in third.send] == [agents[-4]]
    with db.connection() as conn:
        in_flight = conn.execute("SELECT count(*) AS n FROM operations WHERE op_type = 'sync-orders'"
                                 " AND status IN ('queued', 'running')").fetchone()
    assert in_flight is not None and in_flight["n"] == 3


def test_a_sync_backing_off_counts_against_the_cap_one_waiting_for_a_login_budget_does_not(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    # Given five agents whose orders are stale; a sixth agent's sync backs off after a
    # transient error (it runs again in a minute), a seventh's waits for its login budget
    agents = _agents(client, 7)
    stale, (retrying, waiting) = agents[:5], agents[5:]
    _all_fresh(db, agents, except_={(a, "sync-orders") for a in stale})
    _op(db, retrying, "sync-customers", "queued", minutes_ago=1, not_before_in_min=1)
    _op(db, waiting, "sync-customers", "queued", minutes_ago=1, not_before_in_min=30,
        progress={"waiting": {"for": "login_budget", "message": "the login budget is spent"}})
    # When the scheduler ticks
    decided = keep_fresh(client)
    # Then the backing-off one takes a slot of the three, the waiting one none
    assert decided is not None and len(decided.send) == 2 and len(decided.deferred) == 3


def test_a_second_tick_in_the_same_period_sends_nothing(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    # Given two agents with every list stale and room for every sync
    agents = _agents(client, 2)
    settings = _settings(client, background_syncs_max=100)
    first = keep_fresh(client, settings)
    assert first is not None and len(first.send) == 2 * len(PER_AGENT) + len(CATALOGUE_SYNCS)
    # and every sync it sent ended long ago (all stale again)
    with db.connection() as conn:
        conn.execute("UPDATE operations SET status = 'failed', created_at = now() - interval '1 day',"
                     " finished_at = now() - interval '1 day'")
    sent = len(_queued_syncs(db))
    # When a second scheduler's message for the same period arrives
    second = keep_fresh(client, settings)
    # Then it sends nothing; the next period's tick sends them all again
    assert second is None and len(_queued_syncs(db)) == sent == 0
    _new_period(redis_client)
    third = keep_fresh(client, settings)
    assert third is not None and len(third.send) == len(first.send)
    assert {d.agent for d in third.send} == set(agents)


def test_the_catalogue_is_synced_once_for_everyone(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    # Given five agents whose own lists are fresh and a catalogue never synced; the first
    # agent is active (an order sent just now), the others idle
    agents = _agents(client, 5)
    _all_fresh(db, agents, except_={(a, t) for a in agents for t in CATALOGUE_SYNCS})
    _op(db, agents[0], "submit-order", "done", minutes_ago=1, is_write=True)
    # When the scheduler ticks
    keep_fresh(client)
    # Then one products and one prices sync are sent, for one idle agent
    assert _queued_syncs(db) == [(agents[1], t) for t in sorted(CATALOGUE_SYNCS)]
    # When they are done and the next periods' ticks come
    with db.connection() as conn:
        conn.execute("UPDATE operations SET status = 'done', finished_at = now() WHERE NOT is_write")
    _new_period(redis_client)
    keep_fresh(client)
    # Then the catalogue is fresh for everyone: nothing is sent
    assert _queued_syncs(db) == []


def test_a_failing_list_waits_a_target_before_it_is_tried_again(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    # Given an agent whose delivery notes were never synced and whose last try failed
    # 5 minutes ago, and whose orders are stale
    (agent,) = _agents(client, 1)
    _all_fresh(db, [agent], except_={(agent, "sync-ddt"), (agent, "sync-orders")})
    _op(db, agent, "sync-ddt", "failed", minutes_ago=5)
    # When the scheduler ticks
    keep_fresh(client)
    # Then the orders are synced and the failing list does not take a slot
    assert _queued_syncs(db) == [(agent, "sync-orders")]


def test_a_catalogue_walk_recorded_for_everyone_is_fresh_for_everyone(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    # Given agents whose own lists are fresh, and the catalogue's state kept for everyone
    # (the sync runner's store.cache.EVERYONE row): walked 10 minutes ago, or skipped as
    # unchanged 5 minutes ago after a walk 5 hours ago
    agents = _agents(client, 3)
    _all_fresh(db, agents, except_={(a, t) for a in agents for t in CATALOGUE_SYNCS})
    _state(db, EVERYONE, "sync-products", complete_min_ago=10)
    _state(db, EVERYONE, "sync-prices", complete_min_ago=300, skipped_min_ago=5)
    # When the scheduler ticks
    decided = keep_fresh(client)
    # Then nothing is due
    assert decided is not None and decided.send == [] and _queued_syncs(db) == []
