"""The journal as its readers see it: the API's lists, the agents' queues, ``/metrics``, the
bench.

Reads only, over many rows: nothing here changes an operation. One row by its id is
:meth:`JournalTable.get`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.rows import PENDING_SQL, QUEUED_SQL, JournalTable, OperationRow
from store.states import LoginOutcome, Status

# A failed operation's error text starts with what the runtime knew of the cause.
_ERROR_KIND_SQL = """
SELECT CASE
    WHEN error LIKE 'the ERP rejected%%' THEN 'rejected'
    WHEN error LIKE 'the ERP refused the login%%' THEN 'login'
    WHEN error LIKE '%%timed out%%' THEN 'timeout'
    WHEN error LIKE '%%ErpUnavailable%%' OR error LIKE '%%unavailable%%' THEN 'unavailable'
    WHEN error LIKE '%%SessionExpired%%' THEN 'session'
    WHEN error LIKE 'agent %% stayed busy%%' THEN 'requeue_expired'
    ELSE 'other' END AS kind, count(*) AS n
FROM operations WHERE status = %s GROUP BY 1
"""


@dataclass(frozen=True)
class AgentQueue:
    """What one agent has pending."""

    #: Operations queued or running.
    depth: int
    #: The running one: ``{"id", "type", "progress"}``, or None.
    current: dict[str, Any] | None
    #: The oldest queued operation's waiting note, with its ``op_id``, or None.
    waiting: dict[str, Any] | None


@dataclass(frozen=True)
class JournalFigures:
    """What ``/metrics`` reads from PostgreSQL, read at one scrape (rows as dicts)."""

    #: ``{op_type, status, n, retries, requeues}`` per type and status.
    by_status: list[dict[str, Any]]
    #: ``{op_type, n, total, b0, b1…}``: done operations' sent→ended seconds, bucket counts.
    durations: list[dict[str, Any]]
    #: ``{agent, n}``: operations queued or running per agent.
    depth: list[dict[str, Any]]
    #: Seconds since the oldest pending operation was sent (0 without one).
    oldest_pending_s: float
    #: ``{agent, n}``: logins the ERP could see (not ``unreached``).
    logins: list[dict[str, Any]]
    #: ``{kind, n}``: failed operations by the kind of their error.
    errors: list[dict[str, Any]]
    #: Webhook deliveries not yet delivered (younger than the age asked for).
    webhooks_pending: int


class Reports(JournalTable):
    """Reads over many rows of the journal (``operations``; ``logins`` and the webhook
    outbox for the metrics)."""

    def find(
        self,
        *,
        agent: str | None = None,
        status: str | None = None,
        op_type: str | None = None,
        limit: int = 50,
        before_seq: int | None = None,
    ) -> list[OperationRow]:
        """Rows newest first, filtered; keyset pagination on ``seq`` (``before_seq``)."""
        where = ["true"]
        params: dict[str, Any] = {"limit": limit}
        for column, value in (("agent", agent), ("status", status), ("op_type", op_type),
                              ("seq", before_seq)):
            if value is not None:
                where.append(f"{column} {'<' if column == 'seq' else '='} %({column})s")
                params[column] = value
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT * FROM operations WHERE {' AND '.join(where)}"
                " ORDER BY seq DESC LIMIT %(limit)s",
                params,
            ).fetchall()
        return [OperationRow.from_row(r) for r in rows]

    def recent(self, limit: int = 20) -> list[OperationRow]:
        """The newest rows first."""
        return self.find(limit=limit)

    def all_in_order(self) -> list[OperationRow]:
        """Every row, oldest first (the bench's journal)."""
        with self._db.connection() as conn:
            rows = conn.execute("SELECT * FROM operations ORDER BY seq").fetchall()
        return [OperationRow.from_row(r) for r in rows]

    def count_by_status(self) -> dict[Status, int]:
        """How many operations are in each status (a status without any is left out)."""
        with self._db.connection() as conn:
            rows = conn.execute("SELECT status, count(*) AS n FROM operations GROUP BY status").fetchall()
        return {Status(r["status"]): int(r["n"]) for r in rows}

    def ids_with_status(self, status: Status) -> list[str]:
        """The ids of the operations in ``status``."""
        with self._db.connection() as conn:
            rows = conn.execute("SELECT id FROM operations WHERE status = %s", (status,)).fetchall()
        return [str(r["id"]) for r in rows]

    def agent_queues(self) -> dict[str, AgentQueue]:
        """Each agent with something pending: its depth, its running operation, its wait."""
        with self._db.connection() as conn:
            pending = conn.execute(
                "SELECT agent, count(*) AS depth,"
                " (array_agg(id ORDER BY seq) FILTER (WHERE status = %s))[1] AS running_id"
                f" FROM operations WHERE status IN {PENDING_SQL} GROUP BY agent",
                (Status.RUNNING,),
            ).fetchall()
            running_ids = [r["running_id"] for r in pending if r["running_id"] is not None]
            running = {
                str(r["id"]): {"id": str(r["id"]), "type": r["op_type"], "progress": r["progress"]}
                for r in conn.execute(
                    "SELECT id, op_type, progress FROM operations WHERE id = ANY(%s)", (running_ids,)
                ).fetchall()
            }
            waiting_rows = conn.execute(
                "SELECT DISTINCT ON (agent) agent, id, progress -> 'waiting' AS waiting"
                f" FROM operations WHERE status = {QUEUED_SQL} AND progress ? 'waiting'"
                " ORDER BY agent, seq",
            ).fetchall()
        waiting = {str(r["agent"]): {"op_id": str(r["id"]), **r["waiting"]} for r in waiting_rows}
        queues = {
            str(r["agent"]): AgentQueue(
                depth=int(r["depth"]),
                current=running.get(str(r["running_id"])) if r["running_id"] is not None else None,
                waiting=waiting.pop(str(r["agent"]), None),
            )
            for r in pending
        }
        return queues

    def journal_figures(self, duration_buckets_s: tuple[float, ...], webhook_max_age_s: float) -> JournalFigures:
        """The figures ``/metrics`` computes from PostgreSQL (see :class:`JournalFigures`)."""
        bucket_cols = ", ".join(
            f"count(*) FILTER (WHERE d <= {b}) AS b{i}" for i, b in enumerate(duration_buckets_s)
        )
        with self._db.connection() as conn:
            by_status = conn.execute(
                "SELECT op_type, status, count(*) AS n, sum(greatest(attempts - 1, 0)) AS retries,"
                " sum(requeues) AS requeues FROM operations GROUP BY op_type, status"
            ).fetchall()
            durations = conn.execute(
                f"SELECT op_type, count(*) AS n, coalesce(sum(d), 0) AS total, {bucket_cols} FROM ("
                " SELECT op_type, extract(epoch FROM finished_at - created_at) AS d FROM operations"
                " WHERE status = %s AND finished_at IS NOT NULL) t GROUP BY op_type",
                (Status.DONE,),
            ).fetchall()
            depth = conn.execute(
                f"SELECT agent, count(*) AS n FROM operations WHERE status IN {PENDING_SQL}"
                " GROUP BY agent"
            ).fetchall()
            oldest = conn.execute(
                "SELECT coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0) AS age"
                f" FROM operations WHERE status IN {PENDING_SQL}"
            ).fetchone()
            logins = conn.execute(
                "SELECT agent, count(*) AS n FROM logins WHERE outcome <> %s GROUP BY agent",
                (LoginOutcome.UNREACHED,),
            ).fetchall()
            errors = conn.execute(_ERROR_KIND_SQL, (Status.FAILED,)).fetchall()
            hooks = conn.execute(
                "SELECT count(*) AS n FROM webhook_deliveries WHERE delivered_at IS NULL"
                " AND created_at > clock_timestamp() - make_interval(secs => %s)",
                (webhook_max_age_s,),
            ).fetchone()
        return JournalFigures(
            by_status=by_status, durations=durations, depth=depth,
            oldest_pending_s=float(oldest["age"]) if oldest else 0.0,
            logins=logins, errors=errors, webhooks_pending=int(hooks["n"]) if hooks else 0,
        )
