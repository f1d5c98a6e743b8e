"""The states an operation (and a login) goes through: one declaration, read everywhere.

The journal's SQL CHECK constraints hold exactly these values (a test compares them), the
client and the HTTP API report them, the worker writes them. Light: importing it pulls in
nothing beyond the standard library.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where an operation is: queued → running → done / failed / cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: Not finished: a worker may still claim it.
PENDING: tuple[Status, ...] = (Status.QUEUED, Status.RUNNING)
#: Finished for good: nothing changes it any more.
TERMINAL: tuple[Status, ...] = (Status.DONE, Status.FAILED, Status.CANCELLED)
STATUSES: tuple[Status, ...] = tuple(Status)


class Phase(StrEnum):
    """How far a write got towards the ERP (NULL until its first attempt starts)."""

    STARTED = "started"
    #: The irreversible click is next (or was dispatched): the ERP may hold the effect.
    ABOUT_TO_COMMIT = "about_to_commit"
    #: The ERP holds the effect; only the journal's ``done`` is missing.
    ERP_COMMITTED = "erp_committed"
    DONE = "done"


PHASES: tuple[Phase, ...] = tuple(Phase)
#: Phases after which an earlier attempt may have left its effect in the ERP.
MAY_HOLD_PHASES: tuple[Phase, ...] = (Phase.ABOUT_TO_COMMIT, Phase.ERP_COMMITTED)


class CancelOutcome(StrEnum):
    """What a cancel request did."""

    CANCELLED = "cancelled"
    CANCELLING = "cancelling"
    FINISHED = "finished"
    WRITE_IN_PROGRESS = "write_in_progress"
    UNKNOWN = "unknown"


CANCEL_OUTCOMES: tuple[CancelOutcome, ...] = tuple(CancelOutcome)


class LoginOutcome(StrEnum):
    """How a reserved login ended (only ``unreached`` is not counted against the budget)."""

    PENDING = "pending"
    POSTED = "posted"
    REJECTED = "rejected"
    THROTTLED = "throttled"
    UNREACHED = "unreached"


LOGIN_OUTCOMES: tuple[LoginOutcome, ...] = tuple(LoginOutcome)
