"""The webhook outbox: ``webhook_deliveries``, one row per operation that reached a terminal
status, written by the journal's trigger in the same transaction as that status.

The deliverer (archibot/api/webhooks.py) takes the due rows, POSTs each, and records how
it went, all while holding them: with several API processes each row is taken
``FOR UPDATE SKIP LOCKED``, so one process sends it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from store.db import Database


@dataclass(frozen=True)
class DueDeliveries:
    """Due deliveries held by one transaction: each row is the operation (``o.*``) plus
    ``op_id``, ``delivery_status`` and ``delivery_attempts``."""

    rows: list[dict[str, Any]]
    _conn: psycopg.Connection[dict[str, Any]]

    def record(self, op_id: Any, *, attempts: int, status: int | None, error: str | None,
               delivered: bool, retry_in_s: float) -> None:
        """How the POST of ``op_id``'s delivery went; undelivered, it is due again in ``retry_in_s``."""
        self._conn.execute(
            "UPDATE webhook_deliveries SET attempts = %s, last_status = %s, last_error = %s,"
            " delivered_at = CASE WHEN %s THEN clock_timestamp() END,"
            " next_attempt_at = clock_timestamp() + make_interval(secs => %s)"
            " WHERE op_id = %s",
            (attempts, status, error, delivered, retry_in_s, op_id),
        )


class WebhookOutbox:
    """Reads and settles ``webhook_deliveries``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextmanager
    def taking_due(self, *, max_attempts: int, max_age_s: float, batch: int) -> Iterator[DueDeliveries]:
        """Hold up to ``batch`` due deliveries (fewer than ``max_attempts`` tries, younger than
        ``max_age_s``) for the block, which records each one's outcome before it ends."""
        with self._db.connection() as conn, conn.transaction():
            rows = conn.execute(
                "SELECT d.op_id, d.status AS delivery_status, d.attempts AS delivery_attempts, o.*"
                " FROM webhook_deliveries d JOIN operations o ON o.id = d.op_id"
                " WHERE d.delivered_at IS NULL AND d.next_attempt_at <= clock_timestamp()"
                "  AND d.attempts < %s"
                "  AND d.created_at > clock_timestamp() - make_interval(secs => %s)"
                " ORDER BY d.next_attempt_at LIMIT %s FOR UPDATE OF d SKIP LOCKED",
                (max_attempts, max_age_s, batch),
            ).fetchall()
            yield DueDeliveries(rows, conn)

    def next_due_s(self, *, max_attempts: int, max_age_s: float) -> float | None:
        """Seconds until the next undelivered row is due (negative: overdue); None without one."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT extract(epoch FROM min(next_attempt_at) - clock_timestamp()) AS s"
                " FROM webhook_deliveries WHERE delivered_at IS NULL AND attempts < %s"
                " AND created_at > clock_timestamp() - make_interval(secs => %s)",
                (max_attempts, max_age_s),
            ).fetchone()
        return None if row is None or row["s"] is None else float(row["s"])

    def forget(self, max_age_s: float) -> int:
        """Delete rows older than ``max_age_s`` (delivered, or too old to send); how many."""
        with self._db.connection() as conn:
            cur = conn.execute(
                "DELETE FROM webhook_deliveries"
                " WHERE created_at < clock_timestamp() - make_interval(secs => %s)",
                (max_age_s,),
            )
        return cur.rowcount
