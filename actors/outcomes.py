"""What an error means for the operation it ended: one table, looked up by the most specific class.

An attempt that raises is not judged by the order of ``except`` clauses (where subclasses of
unrelated roots meet: UnknownAgent is a StoreError, ChromiumNotFound a PoolError,
LoginUnreached an ErpUnavailable) but here, as httpx maps transport errors in one place: the
exception's class and then its bases, in method resolution order, until one is in
:data:`OUTCOMES`. The runtime (actors/endings.py) acts on the outcome.

Pure: no I/O, unit-tested a row per class (tests/test_outcomes.py).
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

import redis

from actors.errors import (
    DependencyFailed,
    ErpDown,
    LockLost,
    LoginBlocked,
    LoginBudgetSpent,
    NotCommitted,
    SyncCancelled,
    SyncPreempted,
)
from archibot.errors import InvalidOperation
from erp.errors import (
    ErpMisconfigured,
    ErpRejected,
    ErpUnavailable,
    LoginRejected,
    LoginUnreached,
    SessionExpired,
)
from pool.errors import ChromiumNotFound, LaunchFailed, PoolError
from store.errors import CredentialsUnreadable, StaleFence, StoreError, UnknownAgent


class Outcome(StrEnum):
    """How an attempt that raised ends."""

    #: Transient, not the ERP's fault (an expired session, our browser, PostgreSQL, Redis):
    #: back to the queue with a capped backoff, within the retry budget.
    RETRY = "retry"
    #: Transient and the ERP's (5xx, a failed navigation): counted by its breaker, then RETRY.
    RETRY_ERP = "retry_erp"
    #: The attempt's time limit ran out: counted by the ERP's breaker, then RETRY.
    TIMED_OUT = "timed_out"
    #: The login page did not answer: a probe says whether the ERP is down (then WAIT_FOR_ERP,
    #: for every agent) or not (then RETRY).
    PROBE_ERP = "probe_erp"
    #: The ERP's breaker is open: handed back, no attempt used, woken when it closes.
    WAIT_FOR_ERP = "wait_for_erp"
    #: A login now would exceed the login budget: handed back until it lets one through.
    WAIT_FOR_LOGIN_BUDGET = "wait_for_login_budget"
    #: Final: fails with the error's own message (it says what to do).
    FAIL = "fail"
    #: Final: the ERP refused the data; fails naming the field and the ERP's message.
    FAIL_REJECTED = "fail_rejected"
    #: Final: the ERP refused the agent's credentials; their login breaker opens.
    FAIL_LOGIN = "fail_login"
    #: Final: a verify-only attempt reached the save — the ERP does not hold the effect.
    NOT_COMMITTED = "not_committed"
    #: The lease passed to another worker (which reconciles): record nothing more.
    ABANDON = "abandon"
    #: A sync stopped at a page boundary for a waiting write (or a stopping worker): requeued.
    PREEMPTED = "preempted"
    #: A sync stopped at a page boundary on request: cancelled for good.
    CANCELLED = "cancelled"
    #: This worker's own trouble (no Chromium): handed back, and the worker stops.
    STOP_WORKER = "stop_worker"
    #: The shutdown cancelled it before a safe point: handed back, unfailed (a cancellation
    #: that is not the shutdown's propagates).
    HAND_BACK = "hand_back"
    #: A bug or an untranslated library error: retried up to ARCHIBOT_MAX_ATTEMPTS, counted.
    UNEXPECTED = "unexpected"


#: Error class → outcome; a class not here takes its nearest base's (``Exception``: UNEXPECTED).
OUTCOMES: dict[type[BaseException], Outcome] = {
    Exception: Outcome.UNEXPECTED,
    asyncio.CancelledError: Outcome.HAND_BACK,
    TimeoutError: Outcome.TIMED_OUT,
    # The ERP.
    ErpUnavailable: Outcome.RETRY_ERP,
    LoginUnreached: Outcome.PROBE_ERP,
    SessionExpired: Outcome.RETRY,
    ErpRejected: Outcome.FAIL_REJECTED,
    LoginRejected: Outcome.FAIL_LOGIN,
    # Not where, or not what, the settings say (another host, an untrusted certificate): no
    # retry helps until an operator changes ARCHIBOT_ERP_URL or ARCHIBOT_ERP_CA_FILE.
    ErpMisconfigured: Outcome.FAIL,
    # Our infrastructure: transient, except what only a person can fix.
    PoolError: Outcome.RETRY,
    ChromiumNotFound: Outcome.STOP_WORKER,
    LaunchFailed: Outcome.STOP_WORKER,
    StoreError: Outcome.RETRY,
    UnknownAgent: Outcome.FAIL,
    CredentialsUnreadable: Outcome.FAIL,
    StaleFence: Outcome.ABANDON,
    redis.RedisError: Outcome.RETRY,
    # The worker's own decisions.
    LockLost: Outcome.ABANDON,
    ErpDown: Outcome.WAIT_FOR_ERP,
    LoginBudgetSpent: Outcome.WAIT_FOR_LOGIN_BUDGET,
    LoginBlocked: Outcome.FAIL,
    DependencyFailed: Outcome.FAIL,
    InvalidOperation: Outcome.FAIL,
    NotCommitted: Outcome.NOT_COMMITTED,
    SyncPreempted: Outcome.PREEMPTED,
    SyncCancelled: Outcome.CANCELLED,
}


def outcome_for(exc: BaseException) -> Outcome | None:
    """The outcome of an attempt that raised ``exc``: its most specific class in the table;
    None for what must propagate (KeyboardInterrupt, SystemExit, GeneratorExit)."""
    for cls in type(exc).__mro__:
        outcome = OUTCOMES.get(cls)
        if outcome is not None:
            return outcome
    return None
