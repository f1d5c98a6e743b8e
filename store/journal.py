"""The operation journal: one row per operation, the source of truth.

Rows are created ``queued`` by the client, claimed ``running`` by the worker that
holds the agent's lock (taking that lock's fence), and end ``done``, ``failed`` or
``cancelled`` (a queued operation, or a running sync at its next page, on request).
Claims take only ``queued`` and ``running`` rows, so a cancelled one never runs.
Every update by a worker carries its fence; a row whose fence has moved on to a
newer holder refuses it (StaleFence), so a holder that lost its lock can never
overwrite the newer holder's record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from store.db import Database
from store.errors import IdempotencyKeyReused, StaleFence, UnknownAgent

PENDING = ("queued", "running")
TERMINAL = ("done", "failed", "cancelled")
STATUSES = PENDING + TERMINAL
#: How long an Idempotency-Key keeps returning its operation.
DEFAULT_IDEMPOTENCY_RETENTION_S = 86_400
PHASES = ("started", "about_to_commit", "erp_committed", "done")


@dataclass(frozen=True)
class Operation:
    """A claimed journal row, as the worker that runs it sees it."""

    id: str
    agent: str
    op_type: str
    is_write: bool
    payload: dict[str, Any]
    progress: dict[str, Any] | None
    phase: str | None
    attempts: int
    fence: int
    created_at: dt.datetime
    #: The row was still ``running`` when claimed: its last holder died or lost its lease.
    orphaned: bool = False
    #: When the row last changed before this claim (for an orphan: its last holder's last word).
    last_update: dt.datetime | None = None
    #: Earlier claims whose holder died under the operation (see Journal.count_death).
    dead_claims: int = 0
    #: The error the previous attempt left (a transient one, while it is retried).
    last_error: str | None = None

    @property
    def needs_reconcile(self) -> bool:
        """Whether an earlier attempt may have reached the ERP (check before acting)."""
        return self.attempts > 1 or self.phase not in (None, "started")


class Journal:
    """Reads and writes the ``operations`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- the client's side -------------------------------------------------------------

    def create(
        self,
        op_id: str,
        agent: str,
        op_type: str,
        is_write: bool,
        payload: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        retention_s: int = DEFAULT_IDEMPOTENCY_RETENTION_S,
    ) -> tuple[dict[str, Any], bool]:
        """Record a new operation, ``queued``; return ``(its row, created)``.

        With ``idempotency_key``, the key and the operation are inserted in one
        transaction: while the key is younger than ``retention_s`` the operation it
        names is returned (``created`` False) and nothing new is written, however many
        processes send it at once. The same key with another request raises
        IdempotencyKeyReused; an agent without credentials raises UnknownAgent.
        """
        digest = request_hash(agent, op_type, payload)
        with self._db.connection() as conn:
            try:
                with conn.transaction():
                    row = conn.execute(
                        "INSERT INTO operations (id, agent, op_type, is_write, payload)"
                        " VALUES (%s, %s, %s, %s, %s) RETURNING *",
                        (op_id, agent, op_type, is_write, Jsonb(payload)),
                    ).fetchone()
                    assert row is not None
                    if idempotency_key is None:
                        return row, True
                    # A concurrent insert of the same key waits here for the first to commit,
                    # then finds the key taken (or replaces it, if it had expired).
                    taken = conn.execute(
                        "INSERT INTO idempotency_keys (key, request_hash, op_id) VALUES (%s, %s, %s)"
                        " ON CONFLICT (key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
                        " op_id = EXCLUDED.op_id, created_at = clock_timestamp()"
                        " WHERE idempotency_keys.created_at"
                        "  < clock_timestamp() - make_interval(secs => %s)"
                        " RETURNING key",
                        (idempotency_key, digest, op_id, retention_s),
                    ).fetchone()
                    if taken is not None:
                        return row, True
                    raise _KeyTaken
            except _KeyTaken:
                pass  # the transaction rolled back: no operation was written
            except psycopg.errors.ForeignKeyViolation:
                raise UnknownAgent(f"no ERP credentials stored for agent {agent!r}") from None
            existing = conn.execute(
                "SELECT k.request_hash, o.* FROM idempotency_keys k JOIN operations o ON o.id = k.op_id"
                " WHERE k.key = %s",
                (idempotency_key,),
            ).fetchone()
        if existing is None:  # expired and swept between the two statements: try once more
            return self.create(op_id, agent, op_type, is_write, payload,
                               idempotency_key=idempotency_key, retention_s=retention_s)
        if existing.pop("request_hash") != digest:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {idempotency_key!r} was used for another request "
                f"(operation {existing['id']}): use a new key for a different operation"
            )
        return existing, False

    def forget_idempotency_keys(self, retention_s: int = DEFAULT_IDEMPOTENCY_RETENTION_S) -> int:
        """Delete keys older than the retention; how many."""
        with self._db.connection() as conn:
            cur = conn.execute(
                "DELETE FROM idempotency_keys"
                " WHERE created_at < clock_timestamp() - make_interval(secs => %s)",
                (retention_s,),
            )
        return cur.rowcount

    def find(
        self,
        *,
        agent: str | None = None,
        status: str | None = None,
        op_type: str | None = None,
        limit: int = 50,
        before_seq: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows newest first, filtered; keyset pagination on ``seq`` (``before_seq``)."""
        where = ["true"]
        params: dict[str, Any] = {"limit": limit}
        for column, value in (("agent", agent), ("status", status), ("op_type", op_type),
                              ("seq", before_seq)):
            if value is not None:
                where.append(f"{column} {'<' if column == 'seq' else '='} %({column})s")
                params[column] = value
        with self._db.connection() as conn:
            return conn.execute(
                f"SELECT * FROM operations WHERE {' AND '.join(where)}"
                " ORDER BY seq DESC LIMIT %(limit)s",
                params,
            ).fetchall()

    def cancel(self, op_id: str) -> str:
        """Cancel an operation; the outcome is one of :data:`CANCEL_OUTCOMES`.

        A queued operation ends ``cancelled`` now (no claim takes it afterwards); a
        running sync is asked to stop at its next page. A write that is running, or
        queued for a retry after it may have reached the ERP, cannot be taken back.
        """
        if not _is_uuid(op_id):
            return "unknown"
        with self._db.connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT status, is_write, phase FROM operations WHERE id = %s FOR UPDATE", (op_id,)
            ).fetchone()
            if row is None:
                return "unknown"
            if row["status"] in TERMINAL:
                return "finished"
            if row["is_write"] and (row["status"] == "running" or row["phase"] not in (None, "started")):
                return "write_in_progress"
            if row["status"] == "queued":
                conn.execute(
                    "UPDATE operations SET status = 'cancelled', error = 'cancelled on request',"
                    " finished_at = clock_timestamp(), updated_at = clock_timestamp()"
                    " WHERE id = %s",
                    (op_id,),
                )
                return "cancelled"
            conn.execute(
                "UPDATE operations SET cancel_requested = true, updated_at = clock_timestamp()"
                " WHERE id = %s",
                (op_id,),
            )
            return "cancelling"

    def get(self, op_id: str) -> dict[str, Any] | None:
        """The whole row, or None."""
        if not _is_uuid(op_id):
            return None
        with self._db.connection() as conn:
            return conn.execute("SELECT * FROM operations WHERE id = %s", (op_id,)).fetchone()

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest rows first."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT * FROM operations ORDER BY seq DESC LIMIT %s", (limit,)
            ).fetchall()

    def result_of(self, op_id: str) -> dict[str, Any] | None:
        """A done operation's result, or None if it is not done (or not an op id)."""
        row = self.get(op_id)
        if row is None or row["status"] != "done":
            return None
        result: dict[str, Any] | None = row["result"]
        return result

    # -- the worker's side ----------------------------------------------------------------

    def is_finished(self, op_id: str) -> bool:
        """Whether the operation is ``done`` or ``failed`` (or unknown)."""
        with self._db.connection() as conn:
            row = conn.execute("SELECT status FROM operations WHERE id = %s", (op_id,)).fetchone()
        return row is None or row["status"] in TERMINAL

    def free_agents_by_work(self, limit: int = 4) -> list[str]:
        """Agents with a ready operation and none running, the most pending work first.

        Work is estimated from the journal itself: the recent mean execution time of
        each type, per order line where the payload has lines. Draining the biggest
        queues first (longest-processing-time first) keeps the burst's tail short.
        """
        with self._db.connection() as conn:
            rows = conn.execute(_FREE_AGENTS_SQL, {"limit": limit}).fetchall()
        return [str(r["agent"]) for r in rows]

    def has_waiting_write(self, agent: str) -> bool:
        """Whether a write of the agent is queued (a running sync should yield to it)."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM operations WHERE agent = %s AND is_write AND status = 'queued'"
                " AND (not_before IS NULL OR not_before <= clock_timestamp()) LIMIT 1",
                (agent,),
            ).fetchone()
        return row is not None

    def cancel_requested(self, op_id: str) -> bool:
        """Whether someone asked the (running sync) operation to stop."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT cancel_requested FROM operations WHERE id = %s", (op_id,)
            ).fetchone()
        return bool(row and row["cancel_requested"])

    def mark_cancelled(self, op: Operation, progress: dict[str, Any]) -> None:
        """A sync stopped on request at a page boundary."""
        self._update(
            op,
            "status = 'cancelled', progress = %(progress)s, error = 'cancelled on request',"
            " finished_at = clock_timestamp()," + _EXEC_MS,
            progress=Jsonb(progress),
        )

    def requeue_preempted(self, op: Operation, progress: dict[str, Any]) -> None:
        """Put a preempted sync back in the queue; it resumes from ``progress``."""
        self._update(
            op, "status = 'queued', progress = %(progress)s," + _EXEC_MS, progress=Jsonb(progress)
        )

    def has_ready(self, agent: str) -> bool:
        """Whether the agent has an operation that could be claimed now."""
        return self._pick(agent) is not None

    def claim_next(
        self, agent: str, fence: int, worker: str, only: str | None = None
    ) -> Operation | None:
        """Claim the agent's next operation: its oldest pending write, else a ready sync.

        Writes run strictly in send order: while the oldest pending write waits for
        a retry, no later write is claimed (a sync may be). A row still ``running``
        under an older fence belongs to a holder that died; it is claimed again.
        Only the holder of the agent's lock calls this. With ``only``, claim nothing
        unless that operation is the one whose turn it is.
        """
        op_id = self._pick(agent)
        if op_id is None or (only is not None and op_id != only):
            return None
        with self._db.connection() as conn:
            row = conn.execute(_CLAIM_SQL, {"id": op_id, "fence": fence, "worker": worker, "agent": agent}).fetchone()
        if row is None:
            return None
        return Operation(
            id=str(row["id"]),
            agent=row["agent"],
            op_type=row["op_type"],
            is_write=row["is_write"],
            payload=row["payload"],
            progress=row["progress"],
            phase=row["phase"],
            attempts=row["attempts"],
            fence=row["fence"],
            created_at=row["created_at"],
            orphaned=row["prev_status"] == "running",
            last_update=row["prev_updated"],
            dead_claims=row["dead_claims"],
            last_error=row["error"],
        )

    def max_fence(self, agent: str) -> int:
        """The highest fence any of the agent's rows carries (a floor for the next lease)."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT coalesce(max(fence), 0) AS fence FROM operations WHERE agent = %s", (agent,)
            ).fetchone()
        return int(row["fence"]) if row else 0

    def _pick(self, agent: str) -> str | None:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id, is_write, (not_before IS NULL OR not_before <= clock_timestamp()) AS ready"
                " FROM operations WHERE agent = %s AND status IN ('queued', 'running')"
                " ORDER BY seq",
                (agent,),
            ).fetchall()
        head_write = next((r for r in rows if r["is_write"]), None)
        if head_write is not None and head_write["ready"]:
            return str(head_write["id"])
        sync = next((r for r in rows if not r["is_write"] and r["ready"]), None)
        return str(sync["id"]) if sync is not None else None

    def set_phase(self, op: Operation, phase: str) -> None:
        """Record how far a write got (``started`` → ``about_to_commit`` → ``erp_committed``).

        ``about_to_commit`` also stamps ``committing_at`` with the database's clock: a retry
        lets the ERP settle from then on, whatever the workers' clocks say.
        """
        extra = ", committing_at = clock_timestamp()" if phase == "about_to_commit" else ""
        self._update(op, "phase = %(phase)s" + extra, phase=phase)

    def settle_left_s(self, op_id: str, settle_s: float) -> float:
        """Seconds until a save journaled ``about_to_commit`` has had ``settle_s`` to commit.

        Timed on the database's clock (``committing_at`` against ``clock_timestamp()``); 0
        when the write never reached its save.
        """
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT greatest(0, extract(epoch FROM committing_at"
                " + make_interval(secs => %s) - clock_timestamp()))::float AS left_s"
                " FROM operations WHERE id = %s AND phase = 'about_to_commit'",
                (settle_s, op_id),
            ).fetchone()
        return float(row["left_s"]) if row and row["left_s"] is not None else 0.0

    def count_death(self, op: Operation) -> int:
        """One more claim of ``op`` found its previous holder dead under it; the new count."""
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE operations SET dead_claims = dead_claims + 1"
                " WHERE id = %s AND fence = %s RETURNING dead_claims",
                (op.id, op.fence),
            ).fetchone()
        if row is None:
            raise StaleFence(f"operation {op.id} has moved on past fence {op.fence}")
        return int(row["dead_claims"])

    def transient_for_s(self, op: Operation) -> float:
        """How long the operation has been failing transiently (0 before its first such error)."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT coalesce(extract(epoch FROM clock_timestamp() - transient_since), 0)::float"
                " AS s FROM operations WHERE id = %s",
                (op.id,),
            ).fetchone()
        return float(row["s"]) if row else 0.0

    def spend_budget(self, op: Operation) -> None:
        """Mark the operation's retry budget as spent (it gave up for another reason): its
        next attempt only looks for its effect (see actors.runtime)."""
        self._update(op, "transient_since = timestamptz '1970-01-01 00:00:00+00'")

    def hand_back(self, op: Operation, reason: str, delay_ms: int = 0) -> None:
        """Return a claimed operation to the queue without using one of its attempts.

        For reasons that are not the operation's: this worker is stopping, its browser
        cannot start, the ERP's breaker is open.
        """
        self._update(
            op,
            "status = 'queued', attempts = greatest(0, attempts - 1), error = %(reason)s,"
            " not_before = clock_timestamp() + make_interval(secs => %(delay_s)s)," + _EXEC_MS,
            reason=reason, delay_s=delay_ms / 1000,
        )

    def wait_outside(self, op: Operation, reason: str, delay_ms: int, waiting: dict[str, Any]) -> None:
        """Hand the operation back until a wait that is not the ERP's fault ends (the login
        budget): no attempt used, ``waiting`` merged into its progress (what the attempt
        recorded stays), and the retry budget's clock moved past the wait, so the wait never
        counts as time spent failing. The ERP's return does not wake it early."""
        self._update(
            op,
            "status = 'queued', attempts = greatest(0, attempts - 1), error = %(reason)s,"
            " not_before = clock_timestamp() + make_interval(secs => %(delay_s)s),"
            " transient_since = transient_since + make_interval(secs => %(delay_s)s),"
            " progress = coalesce(progress, '{}'::jsonb) || %(waiting)s," + _EXEC_MS,
            reason=reason, delay_s=delay_ms / 1000, waiting=Jsonb(waiting),
        )

    def release_login_waits(self, agent: str | None) -> int:
        """An operator gave ``agent``'s (None: the address's) login budget back: the
        operations waiting for it are ready now, their waiting note gone; how many."""
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE operations SET not_before = clock_timestamp(), progress = progress - 'waiting',"
                " updated_at = clock_timestamp()"
                " WHERE status = 'queued' AND progress -> 'waiting' ->> 'for' = 'login_budget'"
                " AND (%s::text IS NULL OR agent = %s)",
                (agent, agent),
            )
        return cur.rowcount

    def wake_transient(self, settle_s: float) -> int:
        """The ERP answers again: make every operation waiting out a transient backoff ready
        now (a save in flight still gets its ``settle_s``); how many."""
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE operations SET not_before = CASE WHEN phase = 'about_to_commit'"
                "  THEN greatest(clock_timestamp(), committing_at + make_interval(secs => %s))"
                "  ELSE clock_timestamp() END"
                " WHERE status = 'queued' AND transient_since IS NOT NULL"
                " AND not_before > clock_timestamp() AND NOT coalesce(progress ? 'waiting', false)",
                (settle_s,),
            )
        return cur.rowcount

    def stuck_heads(self, older_than_s: float) -> list[dict[str, Any]]:
        """For each agent with nothing running whose oldest ready queued operation has been
        untouched for ``older_than_s``: that operation (its wake-up may be lost)."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT id, agent, op_type FROM ("
                "  SELECT DISTINCT ON (agent) id, agent, op_type, updated_at FROM operations o"
                "  WHERE status = 'queued'"
                "  AND (not_before IS NULL OR not_before <= clock_timestamp())"
                "  AND NOT EXISTS (SELECT 1 FROM operations r WHERE r.agent = o.agent"
                "                  AND r.status = 'running')"
                "  ORDER BY agent, seq) heads"
                " WHERE updated_at < clock_timestamp() - make_interval(secs => %s)",
                (older_than_s,),
            ).fetchall()

    def ready_heads(self) -> list[dict[str, Any]]:
        """For each agent with a queued operation ready now, its oldest one (one wake-up each:
        the worker that takes it drains the agent's queue)."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT DISTINCT ON (agent) id, agent, op_type FROM operations"
                " WHERE status = 'queued' AND (not_before IS NULL OR not_before <= clock_timestamp())"
                " ORDER BY agent, seq"
            ).fetchall()

    def orphan_candidates(self) -> list[dict[str, Any]]:
        """Operations journaled ``running``: their agent's lease tells whether a holder lives."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT id, agent, op_type FROM operations WHERE status = 'running'"
            ).fetchall()

    def failed_write_on_order(self, op_id: str, agent: str, refs: list[str]) -> dict[str, Any] | None:
        """The oldest failed write of ``agent`` sent before ``op_id`` on any of ``refs``.

        A ref is an ERP order id or the op id of the submit-order that made it; a write is on
        it when it is that submit-order or its payload's ``order`` names it.
        """
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT id, op_type, error FROM operations"
                " WHERE agent = %(agent)s AND is_write AND status = 'failed'"
                " AND seq < (SELECT seq FROM operations WHERE id = %(id)s)"
                " AND (id::text = ANY(%(refs)s) OR payload ->> 'order' = ANY(%(refs)s))"
                " ORDER BY seq LIMIT 1",
                {"agent": agent, "id": op_id, "refs": refs},
            ).fetchone()

    def submit_of_order(self, agent: str, order_id: str) -> str | None:
        """The op id of the agent's submit-order that made ERP order ``order_id``, if any."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT id FROM operations WHERE agent = %s AND op_type = 'submit-order'"
                " AND result ->> 'order_id' = %s LIMIT 1",
                (agent, order_id),
            ).fetchone()
        return str(row["id"]) if row else None

    def set_progress(self, op: Operation, progress: dict[str, Any]) -> None:
        """Record progress (e.g. pages done / total) readable through ``status``."""
        self._update(op, "progress = %(progress)s", progress=Jsonb(progress))

    def finish(self, op: Operation, result: dict[str, Any]) -> None:
        """The operation succeeded."""
        self._update(
            op,
            "status = 'done', phase = CASE WHEN is_write THEN 'done' ELSE phase END,"
            " result = %(result)s, error = NULL, transient_since = NULL,"
            " finished_at = clock_timestamp()," + _EXEC_MS,
            result=Jsonb(result),
        )

    def fail(self, op: Operation, error: str) -> None:
        """The operation failed for good."""
        self._update(
            op, "status = 'failed', error = %(error)s, finished_at = clock_timestamp()," + _EXEC_MS,
            error=error,
        )

    def retry_later(self, op: Operation, error: str, delay_ms: int, settle_s: float = 0) -> None:
        """Put the operation back in the queue after a transient error, claimable again after
        ``delay_ms`` — and, if its save may be in flight, not before the ERP had ``settle_s``
        to commit it (both on the database's clock). Starts its retry budget's clock."""
        self._update(
            op,
            "status = 'queued', error = %(error)s,"
            " transient_since = coalesce(transient_since, clock_timestamp()),"
            " not_before = greatest(clock_timestamp() + make_interval(secs => %(delay_s)s),"
            "  CASE WHEN phase = 'about_to_commit'"
            "   THEN committing_at + make_interval(secs => %(settle_s)s) END)," + _EXEC_MS,
            error=error, delay_s=delay_ms / 1000, settle_s=settle_s,
        )

    def agent_progressed_within(self, agent: str, seconds: float) -> bool:
        """Whether one of the agent's operations started or ended in the last ``seconds``."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM operations WHERE agent = %s AND greatest(run_started_at, finished_at)"
                " > clock_timestamp() - make_interval(secs => %s) LIMIT 1",
                (agent, seconds),
            ).fetchone()
        return row is not None

    def fail_unclaimed(self, op_id: str, error: str) -> bool:
        """Fail a pending operation that no worker could run (e.g. too old to requeue)."""
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE operations SET status = 'failed', error = %s,"
                " finished_at = clock_timestamp(), updated_at = clock_timestamp()"
                " WHERE id = %s AND status = 'queued'",
                (error, op_id),
            )
        return cur.rowcount == 1

    def count_requeue(self, op_id: str) -> None:
        """A busy agent's message for this operation was requeued (not a failure)."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE operations SET requeues = requeues + 1 WHERE id = %s", (op_id,)
            )

    def agents_with_pending(self, op_type: str) -> set[str]:
        """Agents that already have an operation of this type queued or running."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT agent FROM operations WHERE op_type = %s"
                " AND status IN ('queued', 'running')", (op_type,),
            ).fetchall()
        return {str(r["agent"]) for r in rows}

    def stuck(self, older_than_s: float) -> list[dict[str, Any]]:
        """Pending operations untouched for a while: their message may be lost."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT id, agent, op_type FROM operations"
                " WHERE status IN ('queued', 'running')"
                " AND updated_at < clock_timestamp() - make_interval(secs => %s)"
                " AND (not_before IS NULL OR not_before < clock_timestamp())",
                (older_than_s,),
            ).fetchall()

    def _update(self, op: Operation, assignments: str, **params: Any) -> None:
        with self._db.connection() as conn:
            cur = conn.execute(
                f"UPDATE operations SET {assignments}, updated_at = clock_timestamp()"
                " WHERE id = %(id)s AND fence = %(fence)s",
                {"id": op.id, "fence": op.fence, **params},
            )
        if cur.rowcount != 1:
            raise StaleFence(
                f"operation {op.id} has moved on past fence {op.fence}: this worker lost the "
                f"lock of agent {op.agent!r} and must not record anything more"
            )


_UNITS = "greatest(1, coalesce(jsonb_array_length(payload -> 'lines'), 1))"
_FREE_AGENTS_SQL = f"""
WITH recent AS (
    SELECT op_type, exec_ms, {_UNITS} AS units FROM operations
    WHERE status = 'done' AND exec_ms > 0 ORDER BY seq DESC LIMIT 500
), rates AS (
    SELECT op_type, sum(exec_ms)::float / sum(units) AS ms_per_unit FROM recent GROUP BY op_type
), pending AS (
    SELECT o.agent,
           bool_or(o.status = 'running') AS busy,
           sum(coalesce(r.ms_per_unit, 1000) * {_UNITS.replace("payload", "o.payload")}) AS work_ms
    FROM operations o LEFT JOIN rates r USING (op_type)
    WHERE o.status IN ('queued', 'running')
    GROUP BY o.agent
), head_writes AS (
    SELECT DISTINCT ON (agent) agent,
           (not_before IS NULL OR not_before <= clock_timestamp()) AS ready
    FROM operations WHERE is_write AND status IN ('queued', 'running')
    ORDER BY agent, seq
), ready_syncs AS (
    SELECT DISTINCT agent FROM operations
    WHERE NOT is_write AND status IN ('queued', 'running')
      AND (not_before IS NULL OR not_before <= clock_timestamp())
)
-- The same rule as claim_next: the oldest pending write if it is ready, else a ready sync.
SELECT p.agent FROM pending p
LEFT JOIN head_writes h USING (agent)
WHERE NOT p.busy
  AND (coalesce(h.ready, false) OR p.agent IN (SELECT agent FROM ready_syncs))
ORDER BY p.work_ms DESC, p.agent LIMIT %(limit)s
"""

# Claims a row under fence %(fence)s unless any row of the agent already carries a newer
# fence (then the caller's lease is stale, whatever this row says), and reports what the
# row was before: a row still 'running' is an orphan of a holder that died.
_CLAIM_SQL = """
WITH prev AS (
    SELECT id, status AS prev_status, updated_at AS prev_updated FROM operations
    WHERE id = %(id)s FOR UPDATE
)
UPDATE operations o SET status = 'running', attempts = o.attempts + 1,
    fence = %(fence)s, worker = %(worker)s, not_before = NULL,
    started_at = coalesce(o.started_at, clock_timestamp()),
    run_started_at = clock_timestamp(), updated_at = clock_timestamp()
FROM prev
WHERE o.id = prev.id AND o.status IN ('queued', 'running')
  AND (o.fence IS NULL OR o.fence < %(fence)s)
  AND NOT EXISTS (SELECT 1 FROM operations x WHERE x.agent = %(agent)s AND x.fence > %(fence)s)
RETURNING o.id, o.agent, o.op_type, o.is_write, o.payload, o.progress, o.phase, o.attempts,
          o.fence, o.created_at, o.dead_claims, o.error, prev.prev_status, prev.prev_updated
"""

_EXEC_MS = (
    " exec_ms = exec_ms + CAST(1000 * extract(epoch FROM clock_timestamp() - run_started_at)"
    " AS integer)"
)


CANCEL_OUTCOMES = ("cancelled", "cancelling", "finished", "write_in_progress", "unknown")


class _KeyTaken(Exception):
    """Rolls back an insert whose Idempotency-Key another request holds."""


def request_hash(agent: str, op_type: str, payload: dict[str, Any]) -> str:
    """The fingerprint an Idempotency-Key is bound to: type, agent, normalised payload."""
    body = json.dumps({"type": op_type, "agent": agent, "payload": payload}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True
