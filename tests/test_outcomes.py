"""What each error means for its operation: the one table (actors/outcomes.py), a row per class.

No processes and no services: the table is looked up by the most specific class, so the
classes that belong to two families (UnknownAgent is a StoreError, ChromiumNotFound a
PoolError, LoginUnreached an ErpUnavailable, StaleFence a StoreError) get their own outcome,
whatever order anything is caught in.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import redis

from actors import endings
from actors.errors import (
    AgentBusy,
    DependencyFailed,
    ErpDown,
    LockLost,
    LoginBlocked,
    LoginBudgetSpent,
    NotCommitted,
    SyncCancelled,
    SyncPreempted,
    WorkerStopping,
)
from actors.outcomes import OUTCOMES, Outcome, outcome_for
from archibot.errors import InvalidOperation
from erp.errors import (
    ErpCertificateRejected,
    ErpLeftHost,
    ErpMismatch,
    ErpRejected,
    ErpUnavailable,
    GridStuck,
    LoginRejected,
    LoginThrottled,
    LoginUnreached,
    SessionExpired,
)
from pool.errors import (
    BrowserCrashed,
    ChromiumNotFound,
    ContextsExhausted,
    LaunchFailed,
    PoolClosed,
)
from store.errors import (
    CredentialsUnreadable,
    DatabaseUnavailable,
    IdempotencyKeyReused,
    StaleFence,
    UnknownAgent,
)

_UNTIL = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

ROWS = [
    # The ERP.
    (ErpUnavailable("HTTP 500"), Outcome.RETRY_ERP),
    (ErpMismatch("save", "QTY", 2, 1), Outcome.RETRY_ERP),
    (GridStuck("lines grid stayed editing"), Outcome.RETRY_ERP),
    (LoginUnreached("login page: HTTP 503"), Outcome.PROBE_ERP),  # an ErpUnavailable
    (SessionExpired("sent to Login.aspx"), Outcome.RETRY),
    (ErpRejected("unknown article", field="lines[0].article"), Outcome.FAIL_REJECTED),
    (LoginRejected("wrong password"), Outcome.FAIL_LOGIN),
    (ErpLeftHost("open", "https://192.0.2.10", "https://archibald.komet.it"), Outcome.FAIL),
    (ErpCertificateRejected("login", "https://192.0.2.10/", "ERR_CERT_AUTHORITY_INVALID"), Outcome.FAIL),
    (LoginThrottled("403", posted=True), Outcome.UNEXPECTED),  # _login turns it into a wait
    (TimeoutError(), Outcome.TIMED_OUT),
    (TimeoutError(), Outcome.TIMED_OUT),
    # Our infrastructure.
    (BrowserCrashed("target closed"), Outcome.RETRY),
    (PoolClosed("closing"), Outcome.RETRY),
    (ContextsExhausted("5 in use"), Outcome.RETRY),
    (ChromiumNotFound("/usr/bin/chromium"), Outcome.STOP_WORKER),  # a PoolError
    (LaunchFailed("profile locked"), Outcome.STOP_WORKER),  # a PoolError
    (DatabaseUnavailable("connection refused"), Outcome.RETRY),
    (IdempotencyKeyReused("key"), Outcome.RETRY),
    (UnknownAgent("no credentials"), Outcome.FAIL),  # a StoreError
    (CredentialsUnreadable("wrong key"), Outcome.FAIL),  # a StoreError
    (StaleFence("fence moved on"), Outcome.ABANDON),  # a StoreError
    (redis.ConnectionError("refused"), Outcome.RETRY),
    (redis.TimeoutError("slow"), Outcome.RETRY),  # a RedisError, not the builtin TimeoutError
    # The worker's own decisions.
    (LockLost("lease expired"), Outcome.ABANDON),
    (ErpDown("breaker open"), Outcome.WAIT_FOR_ERP),
    (LoginBudgetSpent("a", _UNTIL, "12 logins"), Outcome.WAIT_FOR_LOGIN_BUDGET),
    (LoginBlocked("refused earlier"), Outcome.FAIL),
    (DependencyFailed("earlier write failed"), Outcome.FAIL),
    (InvalidOperation("bad payload", field="lines"), Outcome.FAIL),
    (NotCommitted("no trace"), Outcome.NOT_COMMITTED),
    (SyncPreempted({"pages_done": 1}), Outcome.PREEMPTED),
    (SyncCancelled({"pages_done": 1}), Outcome.CANCELLED),
    (asyncio.CancelledError(), Outcome.HAND_BACK),
    # Anything else is a bug: counted against ARCHIBOT_MAX_ATTEMPTS.
    (AgentBusy("a", "op"), Outcome.UNEXPECTED),
    (WorkerStopping("op"), Outcome.UNEXPECTED),
    (KeyError("x"), Outcome.UNEXPECTED),
    (RuntimeError("boom"), Outcome.UNEXPECTED),
]


@pytest.mark.parametrize(("exc", "outcome"), ROWS, ids=[type(e).__name__ for e, _ in ROWS])
def test_each_error_class_has_its_outcome(exc: BaseException, outcome: Outcome) -> None:
    assert outcome_for(exc) is outcome


def test_what_must_propagate_has_no_outcome() -> None:
    for exc in (KeyboardInterrupt(), SystemExit(1), GeneratorExit()):
        assert outcome_for(exc) is None


def test_a_class_of_two_families_takes_its_first_base_in_resolution_order() -> None:
    class Both(UnknownAgent, ErpUnavailable):
        """A store error and an ERP error at once."""

    class Other(ErpUnavailable, UnknownAgent):
        """The same two, the other way round."""

    assert outcome_for(Both("x")) is Outcome.FAIL
    assert outcome_for(Other("x")) is Outcome.RETRY_ERP


def test_a_subclass_inherits_its_nearest_listed_outcome() -> None:
    class NewLoginPageError(LoginUnreached):
        """A finer login-page failure added later."""

    assert outcome_for(NewLoginPageError("x")) is Outcome.PROBE_ERP


def test_every_outcome_has_an_ending_and_every_listed_class_an_outcome() -> None:
    assert set(endings._ENDINGS) == set(Outcome)
    assert set(OUTCOMES.values()) <= set(Outcome)
