"""The journal as recovery reads it: operations whose wake-up may be lost, and waits to end.

The journal is the source of truth, and a Dramatiq message only a wake-up: one may be
lost (a flushed Redis, a worker killed before it re-enqueued). :meth:`Recovery.lost_wakeups`
finds, in one statement, every operation that may wait for a wake-up that never comes:

* an **orphan**: journaled ``running``, so lost only if its agent holds no lease (its
  worker died; a live holder finishes it). The journal cannot see Redis, so the caller
  checks the lease (:func:`archibot.keys.lock_key`) and wakes only the orphans without
  one (:func:`to_wake`);
* a **stuck head**: the oldest ready queued operation of an agent with nothing running,
  untouched for a while. One per agent: the worker that takes it drains the agent's
  queue (a wake-up per waiting operation would flood a burst).

The worker's sweep and ``Client.resend_pending`` both send what it finds. A spare wake-up
costs little: the operation runs once, under its agent's lease.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from store.rows import QUEUED_SQL, RUNNING_SQL, JournalTable
from store.states import Phase

#: The waiting note of an operation held back by the login budget (``progress.waiting.for``).
LOGIN_BUDGET_WAIT = "login_budget"
#: Seconds since a row last changed, on the database's clock.
_QUIET_S = "extract(epoch FROM clock_timestamp() - updated_at) AS quiet_s"


@dataclass(frozen=True)
class Wakeup:
    """An operation that may need a fresh wake-up message."""

    id: str
    agent: str
    op_type: str
    #: Journaled ``running``: wake it only if its agent holds no lease.
    orphan: bool
    #: Seconds since its row last changed (an orphan quieter than a lease: its worker was
    #: alive less than a lease ago, so its lease is still held or lapses before the next sweep).
    quiet_s: float


class Recovery(JournalTable):
    """Finds lost wake-ups and ends waits (the sweep, the ERP's return, a budget reset)."""

    def lost_wakeups(self, stuck_after_s: float) -> list[Wakeup]:
        """Every orphan, and every idle agent's ready head untouched for ``stuck_after_s``.

        See the module docstring: the caller wakes ``to_wake(found, leased)``, where
        ``leased`` holds the agents of the orphans whose lease exists in Redis.
        """
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id, agent, op_type, true AS orphan, updated_at, " + _QUIET_S +
                f" FROM operations WHERE status = {RUNNING_SQL}"
                " UNION ALL"
                " SELECT id, agent, op_type, false, updated_at, " + _QUIET_S + " FROM ("
                "  SELECT DISTINCT ON (agent) id, agent, op_type, updated_at FROM operations o"
                f"  WHERE status = {QUEUED_SQL}"
                "  AND (not_before IS NULL OR not_before <= clock_timestamp())"
                "  AND NOT EXISTS (SELECT 1 FROM operations r WHERE r.agent = o.agent"
                f"                  AND r.status = {RUNNING_SQL})"
                "  ORDER BY agent, seq) heads"
                " WHERE updated_at < clock_timestamp() - make_interval(secs => %(after_s)s)"
                # Orphans first, then the heads that have waited longest.
                " ORDER BY orphan DESC, updated_at",
                {"after_s": stuck_after_s},
            ).fetchall()
        return [Wakeup(str(r["id"]), str(r["agent"]), str(r["op_type"]), bool(r["orphan"]),
                       float(r["quiet_s"]))
                for r in rows]

    def ready_heads(self) -> list[dict[str, Any]]:
        """For each agent with a queued operation ready now, its oldest one
        (``{"id", "agent", "op_type"}``; one wake-up each: the worker that takes it drains
        the agent's queue)."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT DISTINCT ON (agent) id, agent, op_type FROM operations"
                f" WHERE status = {QUEUED_SQL}"
                " AND (not_before IS NULL OR not_before <= clock_timestamp())"
                " ORDER BY agent, seq",
            ).fetchall()

    def wake_transient(self, settle_s: float) -> int:
        """The ERP answers again: make every operation waiting out a transient backoff ready
        now (a save in flight still gets its ``settle_s``); how many."""
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE operations SET not_before = CASE WHEN phase = %s"
                "  THEN greatest(clock_timestamp(), committing_at + make_interval(secs => %s))"
                "  ELSE clock_timestamp() END"
                f" WHERE status = {QUEUED_SQL} AND transient_since IS NOT NULL"
                " AND not_before > clock_timestamp() AND NOT coalesce(progress ? 'waiting', false)",
                (Phase.ABOUT_TO_COMMIT, settle_s),
            )
        return cur.rowcount

    def release_login_waits(self, agent: str | None) -> int:
        """An operator gave ``agent``'s (None: the address's) login budget back: the
        operations waiting for it are ready now, their waiting note gone; how many."""
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE operations SET not_before = clock_timestamp(), progress = progress - 'waiting',"
                " updated_at = clock_timestamp()"
                f" WHERE status = {QUEUED_SQL} AND progress -> 'waiting' ->> 'for' = %s"
                " AND (%s::text IS NULL OR agent = %s)",
                (LOGIN_BUDGET_WAIT, agent, agent),
            )
        return cur.rowcount


def to_wake(found: list[Wakeup], leased: Container[str], free_slots: int | None = None) -> list[Wakeup]:
    """The wake-ups to send: each orphan whose agent is not in ``leased``, and the stuck heads
    — all of them, or (``free_slots``) only as many as the workers could start now.

    A head waits in a burst because every worker is busy, not because its wake-up was lost:
    the wake-ups already queued, and every worker that ends an operation, take the free agent
    with the most work next (actors/handoff.py). Waking it then would only add a message per
    waiting agent per sweep — Redis traffic growing with agents × time. Its wake-up matters
    once a worker has nothing to do, so the sweep sends at most one per free slot, the
    longest waiting first (``found`` is in that order).
    """
    orphans = [w for w in found if w.orphan and w.agent not in leased]
    heads = [w for w in found if not w.orphan]
    if free_slots is not None:
        heads = heads[: max(0, free_slots)]
    return orphans + heads
