"""The sweep wakes lost operations without flooding a burst: at most one stuck head per free slot."""

from __future__ import annotations

import json

import redis

from archibot.client import Client
from archibot.keys import heartbeat_key
from store.db import Database


def _queue_key(client: Client) -> str:
    return f"{client.broker.namespace}:{client.settings.queue}"


def _stuck(db: Database, op_ids: list[str]) -> None:
    """Each operation untouched for an hour, the first the longest."""
    with db.connection() as conn:
        for i, op_id in enumerate(op_ids):
            conn.execute("UPDATE operations SET updated_at = clock_timestamp() - make_interval(secs => %s)"
                         " WHERE id = %s", (3600 - i, op_id))


def _worker_beating(redis_client: redis.Redis, pid: int, slots: int) -> None:
    redis_client.set(heartbeat_key("test-host", pid), json.dumps({"pid": pid, "slots": slots}), ex=60)


def test_stuck_heads_are_woken_only_into_free_slots_longest_waiting_first(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    # Given six idle agents whose next operation has waited an hour, and their wake-ups queued
    agents = [f"agent{i:02d}" for i in range(6)]
    for agent in agents:
        client.agents.add(agent, "secret")
    ops = [client.send("sync-customers", agent, {}) for agent in agents]
    _stuck(db, ops)
    # and two live workers with two slots each
    _worker_beating(redis_client, 1, 2)
    _worker_beating(redis_client, 2, 2)
    # When the sweep looks while those wake-ups are still queued: nothing to add
    assert client.wake_lost(30, only_free_slots=True) == []
    # When the wake-ups were lost (the queue is empty): four slots, four wake-ups, oldest first
    redis_client.delete(_queue_key(client))
    woken = client.wake_lost(30, only_free_slots=True)
    assert [w.id for w in woken] == ops[:4]
    assert redis_client.llen(_queue_key(client)) == 4
    # When one agent's operation is running under no lease (an orphan) and the queue is empty:
    # the orphan is always woken, and it fills a slot
    redis_client.delete(_queue_key(client))
    with db.connection() as conn:
        conn.execute("UPDATE operations SET status = 'running' WHERE id = %s", (ops[5],))
    woken = client.wake_lost(30, only_free_slots=True)
    assert [(w.id, w.orphan) for w in woken] == [(ops[5], True)] + [(op, False) for op in ops[:3]]
    # Then `archibot resend` (no slot rule) still wakes every one of them
    redis_client.delete(_queue_key(client))
    assert sorted(w.id for w in client.wake_lost(30)) == sorted(ops)


def test_no_live_worker_means_no_stuck_head_is_woken_but_orphans_are(
    client: Client, db: Database, redis_client: redis.Redis
) -> None:
    client.agents.add("agent00", "secret")
    client.agents.add("agent01", "secret")
    queued = client.send("sync-customers", "agent00", {})
    running = client.send("sync-customers", "agent01", {})
    _stuck(db, [queued, running])
    with db.connection() as conn:
        conn.execute("UPDATE operations SET status = 'running' WHERE id = %s", (running,))
    redis_client.delete(_queue_key(client))
    assert [w.id for w in client.wake_lost(30, only_free_slots=True)] == [running]


def test_a_running_operation_changed_within_a_lease_costs_the_sweep_no_lease_check(
    client: Client, db: Database, redis_client: redis.Redis, monkeypatch
) -> None:
    # Given two agents' operations journaled running, under no lease in Redis: one row changed
    # just now (its worker was alive a moment ago), one an hour ago (its worker is gone)
    client.agents.add("agent00", "secret")
    client.agents.add("agent01", "secret")
    fresh = client.send("sync-customers", "agent00", {})
    quiet = client.send("sync-customers", "agent01", {})
    _stuck(db, [quiet])
    with db.connection() as conn:
        conn.execute("UPDATE operations SET status = 'running' WHERE id IN (%s, %s)", (fresh, quiet))
    asked: list[str] = []
    pipeline = client.broker.client.pipeline

    def counting_pipeline(*args, **kwargs):  # type: ignore[no-untyped-def]
        pipe = pipeline(*args, **kwargs)
        exists = pipe.exists
        pipe.exists = lambda key: (asked.append(key), exists(key))[1]
        return pipe

    monkeypatch.setattr(client.broker.client, "pipeline", counting_pipeline)
    # Then the sweep looks up only the quiet one's lease, and wakes only it
    assert [w.id for w in client.wake_lost(30, recent_orphans_leased=True)] == [quiet]
    assert [key.rsplit(":", 1)[-1] for key in asked] == ["agent01"]
    # and `archibot resend` still asks about both
    asked.clear()
    assert sorted(w.id for w in client.wake_lost(30)) == sorted([fresh, quiet])
    assert sorted(key.rsplit(":", 1)[-1] for key in asked) == ["agent00", "agent01"]
