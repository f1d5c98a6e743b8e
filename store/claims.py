"""The journal as the worker uses it: pick an agent, claim its next operation, record how
it went.

A worker that holds an agent's lock claims the row ``running`` under that lock's fence
and ends it ``done``, ``failed`` or ``cancelled``, or puts it back ``queued`` (a retry, a
hand-back, a login-budget wait, a preempted sync). Claims take only pending rows, so a
cancelled one never runs. Every update carries the fence; a row whose fence has moved on
to a newer holder refuses it (StaleFence), so a holder that lost its lock can never
overwrite the newer holder's record. The requeue middleware's reads and writes are here
too: it runs in the worker.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from store.claim_sql import CLAIM_SQL, EXEC_MS, FREE_AGENTS_SQL
from store.errors import StaleFence
from store.rows import PENDING_SQL, QUEUED_SQL, JournalTable, Operation, OperationRow
from store.states import TERMINAL, Phase, Status

#: A retry budget's clock reads more than this only when :meth:`Claims.spend_budget` set it
#: to the epoch (no operation fails transiently for 30 years).
SPENT_ON_PURPOSE_S = 1e9


class Claims(JournalTable):
    """The worker's reads and fenced writes of ``operations``."""

    # -- what to run ----------------------------------------------------------------------

    def is_finished(self, op_id: str) -> bool:
        """Whether the operation has ended (``done``, ``failed``, ``cancelled``) or is unknown."""
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
            rows = conn.execute(FREE_AGENTS_SQL, {"limit": limit}).fetchall()
        return [str(r["agent"]) for r in rows]

    def has_waiting_write(self, agent: str) -> bool:
        """Whether a write of the agent is queued (a running sync should yield to it)."""
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT 1 FROM operations WHERE agent = %s AND is_write AND status = {QUEUED_SQL}"
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
            row = conn.execute(
                CLAIM_SQL, {"id": op_id, "fence": fence, "worker": worker, "agent": agent}
            ).fetchone()
        if row is None:
            return None
        return Operation.claimed(
            OperationRow.from_row(row), was=Status(row["prev_status"]), last_update=row["prev_updated"]
        )

    def max_fence(self, agent: str) -> int:
        """The highest fence any claim of the agent carried (a floor for the next lease).

        Read from the agent's one fence row (agent_fences), which the claim raises: it
        costs the same however long the agent's history, and pruned rows do not lower it.
        """
        with self._db.connection() as conn:
            row = conn.execute("SELECT fence FROM agent_fences WHERE agent = %s", (agent,)).fetchone()
        return int(row["fence"]) if row else 0

    def _pick(self, agent: str) -> str | None:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id, is_write, (not_before IS NULL OR not_before <= clock_timestamp()) AS ready"
                f" FROM operations WHERE agent = %s AND status IN {PENDING_SQL} ORDER BY seq",
                (agent,),
            ).fetchall()
        head_write = next((r for r in rows if r["is_write"]), None)
        if head_write is not None and head_write["ready"]:
            return str(head_write["id"])
        sync = next((r for r in rows if not r["is_write"] and r["ready"]), None)
        return str(sync["id"]) if sync is not None else None

    # -- how a claimed operation goes -----------------------------------------------------

    def set_phase(self, op: Operation, phase: str) -> None:
        """Record how far a write got (``started`` → ``about_to_commit`` → ``erp_committed``).

        ``about_to_commit`` also stamps ``committing_at`` with the database's clock: a retry
        lets the ERP settle from then on, whatever the workers' clocks say.
        """
        phase = Phase(phase)
        extra = ", committing_at = clock_timestamp()" if phase == Phase.ABOUT_TO_COMMIT else ""
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
                " FROM operations WHERE id = %s AND phase = %s",
                (settle_s, op_id, Phase.ABOUT_TO_COMMIT),
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
        next attempt only looks for its effect (see actors/endings.py). Its clock is set to
        the epoch, so :meth:`transient_for_s` reads more than :data:`SPENT_ON_PURPOSE_S`."""
        self._update(op, "transient_since = timestamptz '1970-01-01 00:00:00+00'")

    @staticmethod
    def budget_spent_on_purpose(spent_s: float) -> bool:
        """Whether ``transient_for_s`` read a budget :meth:`spend_budget` spent (not time)."""
        return spent_s > SPENT_ON_PURPOSE_S

    def set_progress(self, op: Operation, progress: dict[str, Any]) -> None:
        """Record progress (e.g. pages done / total) readable through ``status``."""
        self._update(op, "progress = %(progress)s", progress=Jsonb(progress))

    def finish(self, op: Operation, result: dict[str, Any]) -> None:
        """The operation succeeded."""
        self._update(
            op,
            "status = %(done)s, phase = CASE WHEN is_write THEN %(phase_done)s ELSE phase END,"
            " result = %(result)s, error = NULL, transient_since = NULL,"
            " finished_at = clock_timestamp()," + EXEC_MS,
            done=Status.DONE, phase_done=Phase.DONE, result=Jsonb(result),
        )

    def fail(self, op: Operation, error: str) -> None:
        """The operation failed for good."""
        self._update(
            op, "status = %(failed)s, error = %(error)s, finished_at = clock_timestamp()," + EXEC_MS,
            failed=Status.FAILED, error=error,
        )

    def mark_cancelled(self, op: Operation, progress: dict[str, Any]) -> None:
        """A sync stopped on request at a page boundary."""
        self._update(
            op,
            "status = %(cancelled)s, progress = %(progress)s, error = 'cancelled on request',"
            " finished_at = clock_timestamp()," + EXEC_MS,
            cancelled=Status.CANCELLED, progress=Jsonb(progress),
        )

    # -- back to the queue ----------------------------------------------------------------

    def retry_later(self, op: Operation, error: str, delay_ms: int, settle_s: float = 0) -> None:
        """Put the operation back in the queue after a transient error, claimable again after
        ``delay_ms`` — and, if its save may be in flight, not before the ERP had ``settle_s``
        to commit it (both on the database's clock). Starts its retry budget's clock."""
        self._update(
            op,
            "status = %(queued)s, error = %(error)s,"
            " transient_since = coalesce(transient_since, clock_timestamp()),"
            " not_before = greatest(clock_timestamp() + make_interval(secs => %(delay_s)s),"
            "  CASE WHEN phase = %(committing)s"
            "   THEN committing_at + make_interval(secs => %(settle_s)s) END)," + EXEC_MS,
            queued=Status.QUEUED, committing=Phase.ABOUT_TO_COMMIT,
            error=error, delay_s=delay_ms / 1000, settle_s=settle_s,
        )

    def requeue_preempted(self, op: Operation, progress: dict[str, Any]) -> None:
        """Put a preempted sync back in the queue; it resumes from ``progress``."""
        self._update(
            op, "status = %(queued)s, progress = %(progress)s," + EXEC_MS,
            queued=Status.QUEUED, progress=Jsonb(progress),
        )

    def hand_back(self, op: Operation, reason: str, delay_ms: int = 0) -> None:
        """Return a claimed operation to the queue without using one of its attempts.

        For reasons that are not the operation's: this worker is stopping, its browser
        cannot start, the ERP's breaker is open.
        """
        self._update(
            op,
            "status = %(queued)s, attempts = greatest(0, attempts - 1), error = %(reason)s,"
            " not_before = clock_timestamp() + make_interval(secs => %(delay_s)s)," + EXEC_MS,
            queued=Status.QUEUED, reason=reason, delay_s=delay_ms / 1000,
        )

    def wait_outside(self, op: Operation, reason: str, delay_ms: int, waiting: dict[str, Any]) -> None:
        """Hand the operation back until a wait that is not the ERP's fault ends (the login
        budget): no attempt used, ``waiting`` merged into its progress (what the attempt
        recorded stays), and the retry budget's clock moved past the wait, so the wait never
        counts as time spent failing. The ERP's return does not wake it early."""
        self._update(
            op,
            "status = %(queued)s, attempts = greatest(0, attempts - 1), error = %(reason)s,"
            " not_before = clock_timestamp() + make_interval(secs => %(delay_s)s),"
            " transient_since = transient_since + make_interval(secs => %(delay_s)s),"
            " progress = coalesce(progress, '{}'::jsonb) || %(waiting)s," + EXEC_MS,
            queued=Status.QUEUED, reason=reason, delay_s=delay_ms / 1000, waiting=Jsonb(waiting),
        )

    # -- the writes it depends on ---------------------------------------------------------

    def failed_write_on_order(self, op_id: str, agent: str, refs: list[str]) -> dict[str, Any] | None:
        """The oldest failed write of ``agent`` sent before ``op_id`` on any of ``refs``
        (``{"id", "op_type", "error"}``).

        A ref is an ERP order id or the op id of the submit-order that made it; a write is on
        it when it is that submit-order or its payload's ``order`` names it.
        """
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT id, op_type, error FROM operations"
                " WHERE agent = %(agent)s AND is_write AND status = %(failed)s"
                " AND seq < (SELECT seq FROM operations WHERE id = %(id)s)"
                " AND (id::text = ANY(%(refs)s) OR payload ->> 'order' = ANY(%(refs)s))"
                " ORDER BY seq LIMIT 1",
                {"agent": agent, "id": op_id, "refs": refs, "failed": Status.FAILED},
            ).fetchone()

    def creator_of_order(self, agent: str, order_id: str, op_type: str) -> str | None:
        """The op id of the agent's operation of ``op_type`` (the registry's order-creating
        type) whose result is ERP order ``order_id``, if any."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT id FROM operations WHERE agent = %s AND op_type = %s"
                " AND result ->> 'order_id' = %s LIMIT 1",
                (agent, op_type, order_id),
            ).fetchone()
        return str(row["id"]) if row else None

    # -- the requeue middleware's (actors/requeue.py) -------------------------------------

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
        """Fail a queued operation that no worker could run (too old to requeue, or its
        message could not be queued at all); whether it was still queued."""
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE operations SET status = %s, error = %s,"
                " finished_at = clock_timestamp(), updated_at = clock_timestamp()"
                " WHERE id = %s AND status = %s",
                (Status.FAILED, error, op_id, Status.QUEUED),
            )
        return cur.rowcount == 1

    def count_requeue(self, op_id: str) -> None:
        """A busy agent's message for this operation was requeued (not a failure)."""
        with self._db.connection() as conn:
            conn.execute("UPDATE operations SET requeues = requeues + 1 WHERE id = %s", (op_id,))

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
