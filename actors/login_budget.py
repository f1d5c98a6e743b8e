"""The login budget: an operation that would need an ERP login past it waits, visibly.

The real ERP's operator blocks a client's address that logs in too often (48-150 logins a
day got the original bot blacklisted; it now keeps to 9-15 — FACTS §1). So every login is
first reserved in the ``logins`` table against ``ARCHIBOT_LOGIN_BUDGET_PER_DAY`` (per agent)
and ``ARCHIBOT_LOGIN_BUDGET_PER_ADDRESS`` (all agents) over a sliding
``ARCHIBOT_LOGIN_BUDGET_WINDOW_S``, and ``ARCHIBOT_LOGIN_BUDGET_PER_MINUTE`` (all agents),
then settled with how it ended: one whose credentials were never posted (the login page
answered 5xx, the connection was refused or timed out) costs nothing — the ERP could not
see it. While the ERP's breaker is open no login is tried at all (actors/agent_session.py). An
operator gives a spent budget back with ``archibot logins --reset AGENT``, journaled in
``login_budget_resets``. When a budget is spent, or the ERP answered our last
login with 403 (it blocks the address), no login is tried: the operation goes back to the
queue, unfailed and without using an attempt, claimable again when the budget lets a login
through; its progress (``waiting``) and its status say "waiting for the login budget until
…". A wake-up is sent for that moment (the sweeper would also find it then).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from actors.errors import LoginBudgetSpent
from archibot.client import make_message
from archibot.keys import LOGINS_THROTTLED_KEY
from archibot.operations import operation_type
from erp.errors import LoginThrottled
from store.errors import StaleFence, StoreError
from store.logins import LoginGrant
from store.recovery import LOGIN_BUDGET_WAIT
from store.rows import Operation

if TYPE_CHECKING:
    from actors.lock import Lease
    from actors.services import Services

log = logging.getLogger("archibot.logins")

#: The progress key that says what a queued operation waits for.
WAITING_KEY = "waiting"
#: How long nobody logs in after a 403 that did not say when to come back.
DEFAULT_THROTTLED_WAIT_S = 900.0
#: The wake-up goes out this much after the budget returns (clocks of workers and database).
DEFAULT_WAKE_MARGIN_MS = 1_000


async def reserve(svc: Services, agent: str) -> int:
    """Reserve one login of ``agent`` against the budgets: its id, to settle once tried
    (``Agents.settle_login``); or raise LoginBudgetSpent saying until when."""
    raw = await svc.redis.get(LOGINS_THROTTLED_KEY)
    if raw:
        until = dt.datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else str(raw))
        if until > dt.datetime.now(dt.UTC):
            raise LoginBudgetSpent(agent, until, (
                "the ERP answered our last login with HTTP 403: it blocks this address for "
                "logging in too often"))
    budget = svc.settings.login_budget()
    granted = await svc.db_call(svc.agents.reserve_login, agent, svc.name, budget)
    if isinstance(granted, LoginGrant):
        return granted.login_id
    wait = granted
    hours = budget.window_s / 3600
    if wait.scope == "agent":
        reason = (f"agent {agent!r} has made {wait.budget} ERP logins in the last {hours:g} h "
                  f"(ARCHIBOT_LOGIN_BUDGET_PER_DAY); an operator who knows the ERP is fine "
                  f"gives it back with: archibot logins --reset {agent}")
    elif wait.scope == "address":
        reason = (f"all agents together have made {wait.budget} ERP logins in the last "
                  f"{hours:g} h (ARCHIBOT_LOGIN_BUDGET_PER_ADDRESS); an operator gives it back "
                  "with: archibot logins --reset-address")
    else:
        reason = (f"all agents together have made {wait.budget} ERP logins in the last minute "
                  "(ARCHIBOT_LOGIN_BUDGET_PER_MINUTE)")
    log.warning("login_budget_spent agent=%s scope=%s budget=%d until=%s", agent, wait.scope,
                wait.budget, wait.until.isoformat(timespec="seconds"))
    raise LoginBudgetSpent(agent, wait.until, reason)


async def throttled(svc: Services, agent: str, exc: LoginThrottled) -> LoginBudgetSpent:
    """The ERP refused a login with 403: stop every worker's logins for a while; the wait."""
    wait_s = exc.retry_after_s if exc.retry_after_s else DEFAULT_THROTTLED_WAIT_S
    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait_s)
    await svc.redis.set(LOGINS_THROTTLED_KEY, until.isoformat(), px=int(wait_s * 1000))
    log.warning("login_throttled agent=%s wait_s=%.0f (the ERP blocks this address)", agent, wait_s)
    return LoginBudgetSpent(agent, until, (
        "the ERP answered the login with HTTP 403: it blocks this address for logging in too "
        "often"))


async def wait(svc: Services, op: Operation, lease: Lease, exc: LoginBudgetSpent) -> None:
    """Put ``op`` back in the queue until ``exc.until``, saying so; it uses no attempt."""
    delay_ms = max(0, int((exc.until - dt.datetime.now(dt.UTC)).total_seconds() * 1000))
    waiting = {WAITING_KEY: {
        "for": LOGIN_BUDGET_WAIT,
        "until": exc.until.isoformat(timespec="seconds"),
        "message": str(exc),
    }}
    try:
        await svc.db_call(svc.claims.wait_outside, op, str(exc), delay_ms, waiting)
    except StaleFence as stale:
        lease.lost = True
        log.warning("op_abandoned op_id=%s reason=%s", op.id, stale)
        return
    except StoreError as error:  # the row stays 'running': the sweeper re-sends it
        log.warning("login_wait_unrecorded op_id=%s error=%s", op.id, error)
        return
    log.info("op_waits_for_login_budget op_id=%s agent=%s until=%s delay_ms=%d",
             op.id, op.agent, exc.until.isoformat(timespec="seconds"), delay_ms)
    message = make_message(svc.settings, operation_type(op.op_type).actor_name, op.id)
    try:
        await svc.db_call(lambda: svc.broker.enqueue(
            message, delay=delay_ms + DEFAULT_WAKE_MARGIN_MS))
    except Exception as error:  # noqa: BLE001 (the sweeper wakes it once it is ready)
        log.warning("login_wait_wake_not_sent op_id=%s error=%r", op.id, error)


async def clear_wait(svc: Services, op: Operation) -> None:
    """The operation has its ERP session: drop the "waiting" note from its progress."""
    if not op.progress or WAITING_KEY not in op.progress:
        return
    progress = {k: v for k, v in op.progress.items() if k != WAITING_KEY}
    await svc.db_call(svc.claims.set_progress, op, progress)
