"""An agent's ERP session in a browser context: adopt the one another process saved, else log
in — within the login budget (actors/login_budget.py), never while the ERP is down."""

from __future__ import annotations

import logging
import time

from actors.endings import quietly
from actors.errors import ErpDown, LoginBlocked
from actors.login_budget import reserve, throttled
from actors.services import Services
from erp.errors import LoginRejected, LoginThrottled, LoginUnreached
from erp.session import login
from pool import AgentSession, export_cookies, import_cookies
from store.states import LoginOutcome

log = logging.getLogger("archibot.runtime")

#: How often, at most, an agent's use of their ERP session is recorded for the keep-alive.
DEFAULT_SEEN_MARK_S = 60


async def ensure_session(svc: Services, session: AgentSession) -> None:
    """Make the context's session usable: adopt the stored one, else log in."""
    if session.logged_in:
        return
    stored = await svc.db_call(svc.agents.load_session, session.agent)
    if stored is not None and stored.cookies:
        # Another process logged this agent in: reuse its session. If it has expired,
        # the first page lands on Login.aspx and the SessionExpired path logs in.
        await import_cookies(session, stored.cookies)
        session.cookies_saved_at = stored.saved_at
        session.logged_in = True
        return
    await _login(svc, session)


async def renew_session(svc: Services, session: AgentSession) -> None:
    """The ERP dropped the context's session: adopt a newer one that another process saved
    since (a login there), else forget the dead one and log in — within the budget."""
    stored = await svc.db_call(svc.agents.load_session, session.agent)
    if stored is not None and (session.cookies_saved_at is None
                               or stored.saved_at > session.cookies_saved_at):
        await import_cookies(session, stored.cookies)
        session.cookies_saved_at = stored.saved_at
        log.info("session_adopted agent=%s (saved by another login; no login here)", session.agent)
        return
    if stored is not None:
        await svc.db_call(svc.agents.forget_session, session.agent, stored.saved_at)
    await _login(svc, session)


async def mark_seen(svc: Services, session: AgentSession) -> None:
    """Record that an operation used the agent's session (the keep-alive counts from here);
    at most every ``DEFAULT_SEEN_MARK_S`` (or a quarter of the keep-alive interval)."""
    if not session.logged_in or svc.settings.keepalive_s <= 0:
        return
    now = time.monotonic()
    every_s = min(DEFAULT_SEEN_MARK_S, svc.settings.keepalive_s / 4)
    if now - session.seen_marked_monotonic < every_s:
        return
    session.seen_marked_monotonic = now
    await quietly(svc.db_call(svc.agents.mark_used, session.agent))


async def _login(svc: Services, session: AgentSession) -> None:
    agent = session.agent
    blocked = await svc.db_call(svc.agents.login_breaker, agent)
    if blocked is not None:
        at, error = blocked
        raise LoginBlocked(
            f"agent {agent!r}: no login tried — the ERP refused their login at "
            f"{at:%Y-%m-%d %H:%M:%S %Z} ({error}); their login breaker stays open until the "
            f"password is stored again: archibot agents add {agent}"
        )
    if await svc.breaker.is_open():
        # The ERP is down: a login now could only fail, or flood it the moment it returns.
        raise ErpDown(f"agent {agent!r}: no login while the ERP's breaker is open")
    creds = await svc.db_call(svc.agents.credentials, agent)
    # Reserved before it is tried, so no two workers take the last login; past the budget,
    # LoginBudgetSpent makes the operation wait instead. It costs nothing if nothing was
    # posted (the login page did not answer).
    login_id = await reserve(svc, agent)
    outcome = LoginOutcome.POSTED
    try:
        await login(session.page, svc.settings.erp_base(), creds.username, creds.password)
    except LoginUnreached:
        outcome = LoginOutcome.UNREACHED
        raise
    except LoginRejected:
        outcome = LoginOutcome.REJECTED
        raise
    except LoginThrottled as exc:
        outcome = LoginOutcome.THROTTLED if exc.posted else LoginOutcome.UNREACHED
        raise await throttled(svc, agent, exc) from exc
    finally:
        await quietly(svc.db_call(svc.agents.settle_login, login_id, outcome))
    cookies = await export_cookies(session)
    session.cookies_saved_at = await svc.db_call(svc.agents.save_cookies, agent, cookies)
    session.seen_marked_monotonic = time.monotonic()
    session.logged_in = True
    log.info("login agent=%s", agent)
