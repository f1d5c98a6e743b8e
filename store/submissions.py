"""The journal as the client and the HTTP API use it: send, cancel, read one operation.

A row is created ``queued`` (with its Idempotency-Key, in the same transaction), read
back, and cancelled on request: a queued operation ends ``cancelled`` at once (claims
take only pending rows, so it never runs); a running sync is asked to stop at its next
page. The worker's side is store/claims.py.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from store.errors import IdempotencyKeyReused, UnknownAgent
from store.rows import PENDING_SQL, JournalTable, OperationRow, is_uuid
from store.states import TERMINAL, CancelOutcome, Phase, Status

#: How long an Idempotency-Key keeps returning its operation.
DEFAULT_IDEMPOTENCY_RETENTION_S = 86_400


class Submissions(JournalTable):
    """Creates, cancels and reads operations (``operations`` and ``idempotency_keys``)."""

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
    ) -> tuple[OperationRow, bool]:
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
                        return OperationRow.from_row(row), True
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
                        return OperationRow.from_row(row), True
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
        if existing["request_hash"] != digest:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {idempotency_key!r} was used for another request "
                f"(operation {existing['id']}): use a new key for a different operation"
            )
        return OperationRow.from_row(existing), False

    def forget_expired_keys(self, retention_s: int = DEFAULT_IDEMPOTENCY_RETENTION_S) -> int:
        """Delete Idempotency-Keys older than the retention; how many."""
        with self._db.connection() as conn:
            cur = conn.execute(
                "DELETE FROM idempotency_keys"
                " WHERE created_at < clock_timestamp() - make_interval(secs => %s)",
                (retention_s,),
            )
        return cur.rowcount

    def cancel(self, op_id: str) -> CancelOutcome:
        """Cancel an operation; the outcome says what happened.

        A queued operation ends ``cancelled`` now (no claim takes it afterwards); a
        running sync is asked to stop at its next page. A write that is running, or
        queued for a retry after it may have reached the ERP, cannot be taken back.
        """
        if not is_uuid(op_id):
            return CancelOutcome.UNKNOWN
        with self._db.connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT status, is_write, phase FROM operations WHERE id = %s FOR UPDATE", (op_id,)
            ).fetchone()
            if row is None:
                return CancelOutcome.UNKNOWN
            if row["status"] in TERMINAL:
                return CancelOutcome.FINISHED
            if row["is_write"] and (row["status"] == Status.RUNNING
                                    or row["phase"] not in (None, Phase.STARTED)):
                return CancelOutcome.WRITE_IN_PROGRESS
            if row["status"] == Status.QUEUED:
                conn.execute(
                    "UPDATE operations SET status = %s, error = 'cancelled on request',"
                    " finished_at = clock_timestamp(), updated_at = clock_timestamp()"
                    " WHERE id = %s",
                    (Status.CANCELLED, op_id),
                )
                return CancelOutcome.CANCELLED
            conn.execute(
                "UPDATE operations SET cancel_requested = true, updated_at = clock_timestamp()"
                " WHERE id = %s",
                (op_id,),
            )
            return CancelOutcome.CANCELLING

    def agents_with_pending(self, op_type: str) -> set[str]:
        """Agents that already have an operation of this type queued or running."""
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT DISTINCT agent FROM operations WHERE op_type = %s AND status IN {PENDING_SQL}",
                (op_type,),
            ).fetchall()
        return {str(r["agent"]) for r in rows}


class _KeyTaken(Exception):
    """Rolls back an insert whose Idempotency-Key another request holds."""


def request_hash(agent: str, op_type: str, payload: dict[str, Any]) -> str:
    """The fingerprint an Idempotency-Key is bound to: type, agent, normalised payload."""
    body = json.dumps({"type": op_type, "agent": agent, "payload": payload}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()
