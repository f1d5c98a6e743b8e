"""Errors of the Dramatiq side.

ActorError
 ├── AgentBusy    the agent's lock is held: requeue the message with backoff (not a failure)
 ├── LockLost     the lease ran out or passed to another holder: stop before anything irreversible
 ├── SyncPreempted a write of the same agent is waiting: the sync stops at a page boundary
 └── SyncCancelled someone cancelled the running sync: it stops at a page boundary
"""

from __future__ import annotations


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


class SyncCancelled(ActorError):
    """The running sync was cancelled on request; it stops at a page boundary for good."""

    def __init__(self, progress: dict[str, object]) -> None:
        super().__init__(f"cancelled after page {progress.get('pages_done')} of {progress.get('pages_total')}")
        self.progress = progress
