"""How an attempt that raised ends: what each outcome (actors/outcomes.py) does to the journal.

* done, or refused by the ERP (a business rule, a rejected login): terminal at once;
* transient (ERP 5xx, timeouts, refused connections, a crashed browser, PostgreSQL or
  Redis trouble): back to the queue with a capped backoff, for as long as the retry
  budget (``ARCHIBOT_RETRY_BUDGET_S``) lasts — timed on the database's clock;
* this worker's own trouble (no Chromium, a broken profile) or its shutdown: handed back
  without using an attempt; an unhealthy worker then stops and says why;
* only what the operation itself causes is counted: an unexpected error
  (``ARCHIBOT_MAX_ATTEMPTS``) and claims whose worker died under it
  (``ARCHIBOT_MAX_WORKER_DEATHS``, poison).

A write that reached its save (``about_to_commit``) never ends ``failed`` before the ERP
had ``commit_settle_s`` to commit it and a look found no effect: when it must give up it
runs once more in verify-only mode, where reaching the save again means "the ERP does not
hold it" — and while the ERP cannot be read it stays queued, retrying.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis

from actors.boot import stop_this_worker
from actors.errors import LoginBudgetSpent, SyncCancelled, SyncPreempted
from actors.job import Attempt
from actors.login_budget import wait as wait_for_login_budget
from actors.outcomes import Outcome
from archibot.backoff import compute_backoff_ms
from archibot.client import make_message
from archibot.operations import operation_type
from erp.errors import ErpRejected, NotOwnRecord
from store.errors import StaleFence, StoreError
from store.rows import Operation
from store.states import MAY_HOLD_PHASES

log = logging.getLogger("archibot.runtime")

#: A transient failure's retry waits base·2^n ms, capped at ``settings.retry_max_ms``.
DEFAULT_RETRY_BASE_MS = 1_000


async def end(a: Attempt, outcome: Outcome, exc: BaseException) -> None:
    """Journal how the attempt ended, as ``outcome`` says (see the module docstring)."""
    await _ENDINGS[outcome](a, exc)


# -- the outcomes ---------------------------------------------------------------------------

async def _retry(a: Attempt, exc: BaseException) -> None:
    await retry_transient(a, describe(exc))


async def _retry_erp(a: Attempt, exc: BaseException) -> None:
    await quietly(a.svc.breaker.transport_error(a.op.agent, str(exc)))
    await retry_transient(a, describe(exc))


async def _timed_out(a: Attempt, exc: BaseException) -> None:
    limit_s = operation_type(a.op.op_type).time_limit_for(a.svc.settings, a.op.payload)
    await quietly(a.svc.breaker.transport_error(a.op.agent, "timeout"))
    await retry_transient(a, f"timed out after {limit_s} s (ARCHIBOT_OP_TIMEOUTS, "
                             "ARCHIBOT_OP_TIMEOUT_PER_LINE_S)")


async def _probe_erp(a: Attempt, exc: BaseException) -> None:
    # The login page did not answer: is the ERP down? A probe says at once; if so, this
    # and every other agent's login waits for it to return instead of trying again.
    # (Without Redis nobody can tell: the usual backoff then.)
    try:
        down = await a.svc.breaker.transport_error(a.op.agent, str(exc), confirm_now=True)
    except redis.RedisError:
        down = False
    if down:
        await wait_for_erp(a, describe(exc))
    else:
        await retry_transient(a, describe(exc))


async def _wait_for_erp(a: Attempt, exc: BaseException) -> None:
    await wait_for_erp(a, str(exc))


async def _wait_for_login_budget(a: Attempt, exc: BaseException) -> None:
    # Not a failure and no attempt used: it waits, queued, for the login budget.
    assert isinstance(exc, LoginBudgetSpent)
    await wait_for_login_budget(a.svc, a.op, a.lease, exc)


async def _fail(a: Attempt, exc: BaseException) -> None:
    await fail(a, str(exc))


async def _fail_rejected(a: Attempt, exc: BaseException) -> None:
    assert isinstance(exc, ErpRejected)
    if isinstance(exc, NotOwnRecord):
        # The bot's own refusal, not the ERP's: the ERP would have opened the record.
        await fail(a, exc.saying(a.op.agent))
        return
    where = f" (field {exc.field})" if exc.field else ""
    await fail(a, f"the ERP rejected the operation{where}: {exc.erp_message}")


async def _fail_login(a: Attempt, exc: BaseException) -> None:
    agent = a.op.agent
    error = (f"the ERP refused the login of agent {agent!r}: {exc}. Their login breaker is "
             f"open (no more logins) until the password is stored again: "
             f"archibot agents add {agent}")
    await quietly(a.svc.db_call(a.svc.agents.reject_login, agent, str(exc)))
    log.warning("login_breaker_open agent=%s", agent)
    await fail(a, error)


async def _not_committed(a: Attempt, exc: BaseException) -> None:
    deaths = max(a.deaths, a.op.dead_claims)
    why = why_giving_up(a, deaths >= a.svc.settings.max_worker_deaths, deaths, a.spent_s)
    await fail(a, give_up_reason(a.op, why, a.op.last_error))


async def _abandon(a: Attempt, exc: BaseException) -> None:
    # The lease passed to another worker, which will reconcile; record nothing more.
    a.lease.lost = True
    a.keep_mark = True
    log.warning("op_abandoned op_id=%s agent=%s reason=%s", a.op.id, a.op.agent, exc)


async def _preempted(a: Attempt, exc: BaseException) -> None:
    assert isinstance(exc, SyncPreempted)
    reason = "worker_stopping" if a.state.stopping else "write_waiting"
    log.info("sync_preempted op_id=%s agent=%s reason=%s progress=%s", a.op.id, a.op.agent,
             reason, exc.progress)
    await _fenced(a, a.svc.claims.requeue_preempted, a.op, exc.progress)


async def _cancelled(a: Attempt, exc: BaseException) -> None:
    assert isinstance(exc, SyncCancelled)
    log.info("sync_cancelled op_id=%s agent=%s progress=%s", a.op.id, a.op.agent, exc.progress)
    await _fenced(a, a.svc.claims.mark_cancelled, a.op, exc.progress)


async def _stop_worker(a: Attempt, exc: BaseException) -> None:
    # This worker's trouble, not the operation's: hand it back, stop, say why.
    a.state.unhealthy = f"{type(exc).__name__}: {exc}"
    log.error("worker_unhealthy worker=%s reason=%s (it stops taking work and exits)",
              a.svc.name, a.state.unhealthy)
    await hand_back(a, f"worker {a.svc.name} cannot run a browser: {exc}")
    stop_this_worker()


async def _hand_back(a: Attempt, exc: BaseException) -> None:
    await hand_back(a, "the worker stopped before the operation reached a safe point")


async def _unexpected(a: Attempt, exc: BaseException) -> None:
    log.error("op_error op_id=%s agent=%s", a.op.id, a.op.agent, exc_info=exc)
    error = f"unexpected error: {describe(exc)}"
    if a.op.attempts >= a.svc.settings.max_attempts:
        await give_up(a, f"gave up after {a.op.attempts} attempts (ARCHIBOT_MAX_ATTEMPTS): {error}")
    else:
        await retry_transient(a, error)


_ENDINGS: dict[Outcome, Callable[[Attempt, BaseException], Awaitable[None]]] = {
    Outcome.RETRY: _retry,
    Outcome.RETRY_ERP: _retry_erp,
    Outcome.TIMED_OUT: _timed_out,
    Outcome.PROBE_ERP: _probe_erp,
    Outcome.WAIT_FOR_ERP: _wait_for_erp,
    Outcome.WAIT_FOR_LOGIN_BUDGET: _wait_for_login_budget,
    Outcome.FAIL: _fail,
    Outcome.FAIL_REJECTED: _fail_rejected,
    Outcome.FAIL_LOGIN: _fail_login,
    Outcome.NOT_COMMITTED: _not_committed,
    Outcome.ABANDON: _abandon,
    Outcome.PREEMPTED: _preempted,
    Outcome.CANCELLED: _cancelled,
    Outcome.STOP_WORKER: _stop_worker,
    Outcome.HAND_BACK: _hand_back,
    Outcome.UNEXPECTED: _unexpected,
}


# -- the journal moves they share -------------------------------------------------------------

def may_still_hold(op: Operation) -> bool:
    """Whether an earlier attempt of ``op`` may have left its effect in the ERP."""
    return op.is_write and op.phase in MAY_HOLD_PHASES


def why_giving_up(a: Attempt, poison: bool, deaths: int, spent_s: float) -> str:
    """Why an operation stops being retried (poison, attempts, or the retry budget)."""
    settings = a.svc.settings
    if poison:
        return f"poison: its worker died under it {deaths} times (ARCHIBOT_MAX_WORKER_DEATHS)"
    if a.svc.claims.budget_spent_on_purpose(spent_s):  # see Claims.spend_budget
        return f"more than ARCHIBOT_MAX_ATTEMPTS={settings.max_attempts} unexpected errors"
    return (f"transient errors for {spent_s:.0f} s, more than the retry budget "
            f"(ARCHIBOT_RETRY_BUDGET_S={settings.retry_budget_s})")


def give_up_reason(op: Operation, why: str, last: str | None) -> str:
    """The error of a write that gives up: whether the ERP holds it, then why."""
    if not op.is_write:
        return f"gave up: {why}"
    if op.phase in MAY_HOLD_PHASES:
        holds = ("the ERP does not hold it: after its save had time to settle, a look in the "
                 "ERP found no trace of it")
    else:
        holds = "the ERP does not hold it: no attempt reached the save"
    return f"{holds}; gave up: {why}" + (f"; last error: {last}" if last else "")


async def _fenced(a: Attempt, call: Callable[..., Any], *args: Any) -> None:
    try:
        await a.svc.db_call(call, *args)
    except StaleFence as stale:
        a.lease.lost = True
        log.warning("op_abandoned op_id=%s reason=%s", a.op.id, stale)


async def hand_back(a: Attempt, reason: str) -> None:
    """Return the operation to the queue without using an attempt (not its fault)."""
    try:
        await a.svc.db_call(a.svc.claims.hand_back, a.op, reason)
    except StaleFence as exc:
        a.lease.lost = True
        log.warning("op_abandoned op_id=%s reason=%s", a.op.id, exc)
        return
    except StoreError as exc:  # the row stays 'running': the sweeper re-sends it as an orphan
        log.warning("hand_back_failed op_id=%s error=%s", a.op.id, exc)
        return
    log.info("op_handed_back op_id=%s agent=%s reason=%r", a.op.id, a.op.agent, reason)


async def wait_for_erp(a: Attempt, error: str) -> None:
    """The ERP is down (its breaker is open): hand the operation back, no attempt used, no
    backoff; the breaker's close wakes it (the sweeper's ``erp_is_back``)."""
    await hand_back(a, f"waiting for the ERP to answer again (its breaker is "
                       f"open; no login is tried until then): {error}")


async def quietly(call: Any) -> None:
    """Await a best-effort store call inside an error path: its failure is logged, not raised."""
    try:
        await call
    except Exception:
        log.warning("best_effort_call_failed", exc_info=True)


async def fail(a: Attempt, error: str) -> None:
    """The operation failed for good."""
    op = a.op
    log.info("op_failed op_id=%s agent=%s type=%s error=%r", op.id, op.agent, op.op_type, error)
    try:
        await a.svc.db_call(a.svc.claims.fail, op, error)
    except StaleFence as exc:
        log.warning("op_abandoned op_id=%s reason=%s", op.id, exc)


async def give_up(a: Attempt, error: str) -> None:
    """Stop retrying: fail, unless the save may be in the ERP — then one more attempt, after
    the save settled, only looks for its effect."""
    if not may_still_hold(a.op) and a.op.id not in a.state.committing:
        await fail(a, give_up_reason(a.op, error, None))
        return
    await retry_transient(a, error, give_up=True)


async def retry_transient(a: Attempt, error: str, *, give_up: bool = False) -> None:
    """Put the operation back with a capped backoff, within its retry budget (timed in
    PostgreSQL). A write whose save may be in flight is not retried before the ERP had
    ``commit_settle_s`` to commit it; once the budget is spent such a write is retried in
    verify-only mode instead of failing (see the module docstring)."""
    svc, op, settings = a.svc, a.op, a.svc.settings
    claims = svc.claims
    settle_s = settings.commit_settle_s
    try:
        spent_s = await svc.db_call(claims.transient_for_s, op)
        may_hold = may_still_hold(op) or op.id in a.state.committing
        if spent_s >= settings.retry_budget_s and not may_hold:
            await fail(a, give_up_reason(op, why_giving_up(a, False, 0, spent_s), error))
            return
        delay_ms = compute_backoff_ms(
            max(0, op.attempts - 1), base_ms=DEFAULT_RETRY_BASE_MS, max_ms=settings.retry_max_ms
        )
        note = ""
        if give_up or (may_hold and spent_s >= settings.retry_budget_s):
            note = " (next try only looks in the ERP for the effect of its save)"
            await svc.db_call(claims.spend_budget, op)
        log.info("op_retry op_id=%s agent=%s attempt=%d delay_ms=%d spent_s=%.0f error=%r%s",
                 op.id, op.agent, op.attempts, delay_ms, spent_s, error, note)
        await svc.db_call(claims.retry_later, op, error + note, delay_ms, settle_s)
        if may_hold:
            delay_ms = max(delay_ms, int(
                1000 * await svc.db_call(claims.settle_left_s, op.id, settle_s)))
    except StaleFence as exc:
        log.warning("op_abandoned op_id=%s reason=%s", op.id, exc)
        return
    except StoreError as exc:
        # PostgreSQL is down: the row stays 'running' and the sweeper re-sends it.
        log.warning("op_retry_unrecorded op_id=%s error=%s", op.id, exc)
        return
    message = make_message(settings, operation_type(op.op_type).actor_name, op.id)
    try:
        await svc.db_call(lambda: svc.broker.enqueue(message, delay=delay_ms))
    except redis.RedisError as exc:  # the sweeper re-sends what is pending
        log.warning("op_retry_not_sent op_id=%s error=%s", op.id, exc)


def describe(exc: BaseException) -> str:
    """An error as a journal line: ``Class: message`` (the message alone when it is the class)."""
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
