"""Errors of the Dramatiq side.

ActorError
 ├── AgentBusy       the agent's lock is held: requeue the message with backoff (not a failure)
 ├── WorkerStopping  this worker is stopping or not ready: requeue the message as it is
 ├── LockLost        the lease ran out or passed to another holder: stop before anything irreversible
 ├── SyncPreempted   a write of the same agent is waiting: the sync stops at a page boundary
 ├── NotCommitted    a write only allowed to look for its effect found none (it fails: the ERP
 │                   does not hold it)
 ├── DependencyFailed an earlier write on the same order failed: this one is not attempted
 ├── LoginBlocked    the agent's login breaker is open: no login until their credentials change
 ├── LoginBudgetSpent a login would exceed the login budget (or the ERP blocks our address):
 │                   the operation waits, queued, until the budget lets one through
 ├── ErpDown         the ERP's breaker is open: no login is tried; the operation waits,
 │                   queued, for the ERP to answer again
 ├── SyncCancelled   someone cancelled the running sync: it stops at a page boundary
 └── BootFailed      PostgreSQL, Redis or Chromium stayed out of reach for the boot timeout:
                     the worker process exits non-zero (its supervisor starts it again)
"""

from __future__ import annotations

import datetime as dt


class ActorError(Exception):
    """Base class of the actors' errors."""


class AgentBusy(ActorError):
    """The agent is running another operation; the message is requeued, not retried."""

    def __init__(self, agent: str, op_id: str) -> None:
        super().__init__(f"agent {agent!r} is busy; operation {op_id} waits its turn")
        self.agent = agent
        self.op_id = op_id


class LockLost(ActorError):
    """This worker no longer holds the agent's lease; irreversible steps are refused."""


class SyncPreempted(ActorError):
    """A write for the same agent is waiting; the sync yields and resumes later from here."""

    def __init__(self, progress: dict[str, object]) -> None:
        super().__init__(f"preempted after page {progress.get('pages_done')} of {progress.get('pages_total')}")
        self.progress = progress


class WorkerStopping(ActorError):
    """This worker process is stopping (or not booted): the message goes back to the queue."""

    def __init__(self, op_id: str) -> None:
        super().__init__(f"this worker is stopping; operation {op_id} goes back to the queue")
        self.op_id = op_id


class NotCommitted(ActorError):
    """A write in verify-only mode reached its save: the ERP does not hold its effect."""


class DependencyFailed(ActorError):
    """A write refers to an order on which an earlier write of the agent failed."""


class LoginBlocked(ActorError):
    """The ERP refused the agent's login earlier; none is tried until their credentials change."""


class LoginBudgetSpent(ActorError):
    """A login now would exceed the login budget; the operation waits until ``until``."""

    def __init__(self, agent: str, until: dt.datetime, reason: str) -> None:
        super().__init__(
            f"waiting for the login budget until {until.isoformat(timespec='seconds')}: {reason}"
        )
        self.agent = agent
        self.until = until
        self.reason = reason


class ErpDown(ActorError):
    """The ERP's breaker is open: nothing that needs the ERP — a login least of all — is tried
    until a probe finds it answering again; the operation waits for that, queued."""


class SyncCancelled(ActorError):
    """The running sync was cancelled on request; it stops at a page boundary for good."""

    def __init__(self, progress: dict[str, object]) -> None:
        super().__init__(f"cancelled after page {progress.get('pages_done')} of {progress.get('pages_total')}")
        self.progress = progress


class BootFailed(ActorError):
    """The worker could not reach PostgreSQL, Redis or Chromium within its boot timeout."""
