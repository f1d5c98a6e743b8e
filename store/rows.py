"""One journal row, typed: what every reader of the ``operations`` table gets back.

:class:`OperationRow` holds every column of ``operations`` (store/migrations/*.sql) with
its status and phase as the enums of :mod:`store.states`. :class:`Operation` is the
worker's view of a row it claimed (with what the claim found: an orphan, its last word).
:class:`JournalTable` is the base of the journal's modules (submissions, claims, recovery,
reports): the database, and reading one row by its id, which each of them needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any
from uuid import UUID

from store.db import Database
from store.states import PENDING, Phase, Status


@dataclass(frozen=True)
class OperationRow(Mapping[str, Any]):
    """A row of ``operations``, every column; also a read-only mapping of column to value.

    The mapping serves the code written against dict rows (``status_dict``, the bench's
    figures); new code reads the attributes.
    """

    id: str
    seq: int
    agent: str
    op_type: str
    is_write: bool
    payload: dict[str, Any]
    status: Status
    #: How far a write got towards the ERP; None until its first attempt starts.
    phase: Phase | None
    attempts: int
    requeues: int
    #: The fence of the agent's lease its last claim held (None until claimed).
    fence: int | None
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    #: Not claimable before this (a retry's backoff, a login-budget wait).
    not_before: dt.datetime | None
    #: Time spent executing it, over all attempts (ms).
    exec_ms: int
    worker: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    run_started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime
    #: A running sync was asked to stop at its next page.
    cancel_requested: bool
    #: Claims whose previous holder died under the operation.
    dead_claims: int
    #: When its current run of transient errors began (the retry budget runs from here).
    transient_since: dt.datetime | None
    #: When the write last journaled ``about_to_commit`` (its save may be in flight).
    committing_at: dt.datetime | None
    #: Work units: its lines (at least 1), which the picker weighs (migration 0009).
    units: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OperationRow:
        """From a ``SELECT *`` dict row (extra keys, e.g. a join's, are ignored)."""
        values = {name: row[name] for name in _COLUMNS}
        values["id"] = str(values["id"])
        values["status"] = Status(values["status"])
        if values["phase"] is not None:
            values["phase"] = Phase(values["phase"])
        return cls(**values)

    def __getitem__(self, column: str) -> Any:
        if column not in _COLUMNS:
            raise KeyError(column)
        return getattr(self, column)

    def __iter__(self) -> Iterator[str]:
        return iter(_COLUMNS)

    def __len__(self) -> int:
        return len(_COLUMNS)


#: The columns, in the table's order.
_COLUMNS = tuple(f.name for f in fields(OperationRow))


@dataclass(frozen=True)
class Operation:
    """A claimed journal row, as the worker that runs it sees it."""

    id: str
    agent: str
    op_type: str
    is_write: bool
    payload: dict[str, Any]
    progress: dict[str, Any] | None
    phase: Phase | None
    attempts: int
    fence: int
    created_at: dt.datetime
    #: The row was still ``running`` when claimed: its last holder died or lost its lease.
    orphaned: bool = False
    #: When the row last changed before this claim (for an orphan: its last holder's last word).
    last_update: dt.datetime | None = None
    #: Earlier claims whose holder died under the operation (see Claims.count_death).
    dead_claims: int = 0
    #: The error the previous attempt left (a transient one, while it is retried).
    last_error: str | None = None

    @classmethod
    def claimed(cls, row: OperationRow, *, was: Status, last_update: dt.datetime) -> Operation:
        """The worker's view of ``row`` just claimed; ``was`` its status before the claim."""
        return cls(
            id=row.id, agent=row.agent, op_type=row.op_type, is_write=row.is_write,
            payload=row.payload, progress=row.progress, phase=row.phase, attempts=row.attempts,
            fence=int(row.fence or 0), created_at=row.created_at,
            orphaned=was == Status.RUNNING, last_update=last_update,
            dead_claims=row.dead_claims, last_error=row.error,
        )

    @property
    def needs_reconcile(self) -> bool:
        """Whether an earlier attempt may have reached the ERP (check before acting)."""
        return self.attempts > 1 or self.phase not in (None, Phase.STARTED)


class JournalTable:
    """The base of the journal's modules: the database, and one row by its id."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, op_id: str) -> OperationRow | None:
        """The whole row, or None (also for a string that is not an operation id)."""
        if not is_uuid(op_id):
            return None
        with self._db.connection() as conn:
            row = conn.execute("SELECT * FROM operations WHERE id = %s", (op_id,)).fetchone()
        return OperationRow.from_row(row) if row is not None else None

    def result_of(self, op_id: str) -> dict[str, Any] | None:
        """A done operation's result, or None if it is not done (or not an op id)."""
        row = self.get(op_id)
        if row is None or row.status != Status.DONE:
            return None
        return row.result


def sql_list(values: tuple[StrEnum, ...]) -> str:
    """``('queued', 'running')``: enum values as an SQL list in a statement's text.

    Constants rather than parameters, so the partial indexes declared on them
    (``operations_pending``) still apply to prepared statements.
    """
    return "(" + ", ".join(f"'{v.value}'" for v in values) + ")"


#: The pending statuses (``queued``, ``running``) as an SQL list.
PENDING_SQL = sql_list(PENDING)
#: Each pending status as an SQL constant (see :func:`sql_list`: the partial index applies).
QUEUED_SQL = f"'{Status.QUEUED.value}'"
RUNNING_SQL = f"'{Status.RUNNING.value}'"


def is_uuid(value: str) -> bool:
    """Whether ``value`` reads as a UUID (an operation id)."""
    try:
        UUID(value)
    except ValueError:
        return False
    return True
