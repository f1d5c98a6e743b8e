"""The ERP logins: reserved against the login budgets, settled with how they ended, and the
login breaker an agent's refused credentials open (the ``logins``, ``login_budget_resets``
and ``agents.login_rejected_*`` columns). :class:`store.agents.AgentStore` includes it."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from store.db import Database
from store.errors import UnknownAgent
from store.states import LOGIN_OUTCOMES, LoginOutcome

log = logging.getLogger("archibot.agents")


#: The advisory lock key that serializes login reservations ("LOGIN" in ASCII).
LOGIN_RESERVATION_LOCK = 0x4C4F47494E


#: ``LoginBudget.per_address`` for "auto": this many logins a day per registered agent, and at
#: least one agent's own budget. With the keep-alive an agent needs one or two logins a day;
#: the production bot for the same ERP was blocked at 48-150 a day from one address for
#: about one account and is left alone at 9-15 (FACTS §1), so an address serving N agents
#: looks like N ordinary users, while a bug that logs every agent in again and again is
#: stopped at a third of what the per-agent budgets alone would let through.
AUTO_PER_ADDRESS = -1
AUTO_ADDRESS_LOGINS_PER_AGENT = 4
#: The short window of the address's per-minute budget.
MINUTE_S = 60.0
#: How a reserved login ended (``logins.outcome``, store/states.py); only ``unreached``
#: costs nothing.
LOGIN_PENDING = LoginOutcome.PENDING
LOGIN_POSTED = LoginOutcome.POSTED
LOGIN_REJECTED = LoginOutcome.REJECTED
LOGIN_THROTTLED = LoginOutcome.THROTTLED
LOGIN_UNREACHED = LoginOutcome.UNREACHED
#: The SQL condition of a login that counts against the budgets (the ERP could see it).
_COUNTED = f"outcome <> '{LoginOutcome.UNREACHED}'"


@dataclass(frozen=True)
class LoginBudget:
    """How many ERP logins may be tried: per agent per ``window_s``, and from this client's
    address (all agents together; the ERP's operator blocks the address) per ``window_s``
    and per minute. 0 = no limit; ``per_address`` = AUTO_PER_ADDRESS scales with the agents."""

    per_agent: int
    per_address: int
    window_s: float
    per_address_minute: int = 0

    def address_budget(self, agents: int) -> int:
        """The per-window address budget for ``agents`` registered agents (0: none)."""
        if self.per_address != AUTO_PER_ADDRESS:
            return max(0, self.per_address)
        return max(self.per_agent, AUTO_ADDRESS_LOGINS_PER_AGENT * agents)


@dataclass(frozen=True)
class LoginWait:
    """A login budget is spent: which (``agent``, ``address`` or ``address_minute``), its
    size, and when (the database's clock; ``wait_s`` from now) it lets the next login through."""

    scope: str
    budget: int
    until: dt.datetime
    wait_s: float


@dataclass(frozen=True)
class LoginGrant:
    """A login reserved against the budgets: settle it with its outcome once tried."""

    login_id: int


class LoginLedger:
    """The logins of every agent, and their login breakers."""

    _db: Database

    def record_login(self, agent: str, worker: str) -> None:
        """Count one ERP login of the agent (the real ERP blocks clients that log in too often)."""
        with self._db.connection() as conn:
            conn.execute("INSERT INTO logins (agent, worker) VALUES (%s, %s)", (agent, worker))

    def reserve_login(self, agent: str, worker: str, budget: LoginBudget) -> LoginGrant | LoginWait:
        """Reserve a login of ``agent`` now if the budgets allow it; else say until when.

        Returns a LoginGrant when the login was recorded (``pending``: the caller logs in,
        then settles it with :meth:`settle_login`), or which budget is spent and when (the
        database's clock) it lets the next login through. A login counts unless it is
        settled ``unreached`` — its post never left — so a worker that dies mid-login has
        spent one. One transaction-scoped advisory lock serializes the reservations of
        every worker, so two processes never both take the last login.
        """
        with self._db.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOGIN_RESERVATION_LOCK,))
            row = conn.execute("SELECT clock_timestamp() AS now").fetchone()
            assert row is not None
            now: dt.datetime = row["now"]
            waits = _budget_waits(conn, agent, budget, now)
            if waits:
                return max(waits, key=lambda w: w.until)
            row = conn.execute(
                "INSERT INTO logins (agent, worker, at, outcome) VALUES (%s, %s, %s, %s)"
                " RETURNING id", (agent, worker, now, LOGIN_PENDING)
            ).fetchone()
        assert row is not None
        return LoginGrant(int(row["id"]))

    def settle_login(self, login_id: int, outcome: str) -> None:
        """Record how the reserved login ``login_id`` ended (``unreached``: it costs nothing)."""
        if outcome not in LOGIN_OUTCOMES:
            raise ValueError(f"unknown login outcome {outcome!r}")
        with self._db.connection() as conn:
            conn.execute("UPDATE logins SET outcome = %s WHERE id = %s", (outcome, login_id))

    def budget_state(self, budget: LoginBudget) -> dict[str, Any]:
        """Where every agent and the address stand against the budgets, now.

        ``{"agents": {agent: {"used", "spent_until"}}, "address": {"used",
        "budget", "used_minute", "budget_minute", "spent_until"}, "unreached": {agent: n}}``:
        ``used`` counts the logins the ERP could see since the window's start or the newest
        reset; ``spent_until`` (the database's clock) is None while a login may go through.
        """
        with self._db.connection() as conn:
            row = conn.execute("SELECT clock_timestamp() AS now").fetchone()
            assert row is not None
            now: dt.datetime = row["now"]
            since = now - dt.timedelta(seconds=budget.window_s)
            agents = [str(r["agent"]) for r in conn.execute(
                "SELECT agent FROM agents UNION SELECT DISTINCT agent FROM logins WHERE at > %s",
                (since,)).fetchall()]
            used = {str(r["agent"]): int(r["n"]) for r in conn.execute(
                f"SELECT l.agent, count(*) AS n FROM logins l WHERE l.{_COUNTED} AND l.at > greatest("
                " %s, (SELECT max(r.at) FROM login_budget_resets r WHERE r.agent = l.agent))"
                " GROUP BY l.agent", (since,)).fetchall()}
            unreached = {str(r["agent"]): int(r["n"]) for r in conn.execute(
                f"SELECT agent, count(*) AS n FROM logins WHERE outcome = '{LOGIN_UNREACHED}' AND at > %s"
                " GROUP BY agent", (since,)).fetchall()}
            registered = _registered_agents(conn)
            address_budget = budget.address_budget(registered)
            address_since = _address_since(conn, since)
            address_used = _count(conn, f"WHERE {_COUNTED} AND at > %s", (address_since,))
            minute_since = max(address_since, now - dt.timedelta(seconds=MINUTE_S))
            minute_used = _count(conn, f"WHERE {_COUNTED} AND at > %s", (minute_since,))
            state_agents: dict[str, dict[str, Any]] = {}
            for name in sorted(agents):
                spent = budget.per_agent > 0 and used.get(name, 0) >= budget.per_agent
                wait = _agent_wait(conn, name, budget, now) if spent else None
                state_agents[name] = {
                    "used": used.get(name, 0),
                    "spent_until": wait.until if wait is not None else None,
                }
            address_spent = (0 < address_budget <= address_used
                             or 0 < budget.per_address_minute <= minute_used)
            address_waits = _budget_waits(conn, None, budget, now) if address_spent else []
        return {
            "agents": state_agents,
            "address": {
                "used": address_used, "budget": address_budget,
                "used_minute": minute_used, "budget_minute": budget.per_address_minute,
                "spent_until": max((w.until for w in address_waits), default=None),
                "registered_agents": registered,
            },
            "unreached": unreached,
        }

    def reset_login_budget(self, agent: str | None, operator: str, note: str | None = None) -> None:
        """Give ``agent`` (None: the address) its login budget back, journaled: logins before
        now no longer count against that budget (see Recovery.release_login_waits)."""
        with self._db.connection() as conn, conn.transaction():
            if agent is not None and conn.execute(
                    "SELECT 1 FROM agents WHERE agent = %s", (agent,)).fetchone() is None:
                raise UnknownAgent(f"no agent {agent!r}: add it with archibot agents add {agent}")
            conn.execute(
                "INSERT INTO login_budget_resets (agent, operator, note) VALUES (%s, %s, %s)",
                (agent, operator, note),
            )
        log.warning("login_budget_reset agent=%s operator=%s note=%r", agent or "(address)",
                    operator, note)

    def login_budget_resets(self, limit: int = 10) -> list[dict[str, Any]]:
        """The newest budget resets: agent (None: the address), when, by whom, why."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT agent, at, operator, note FROM login_budget_resets ORDER BY at DESC LIMIT %s",
                (limit,),
            ).fetchall()

    def login_counts(self, window_s: float) -> dict[str, int]:
        """Logins the ERP could see, per agent, over the last ``window_s`` seconds."""
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT agent, count(*) AS n FROM logins WHERE {_COUNTED}"
                " AND at > clock_timestamp() - make_interval(secs => %s) GROUP BY agent",
                (window_s,),
            ).fetchall()
        return {str(r["agent"]): int(r["n"]) for r in rows}

    def logins_by_day(self, days: int = 7) -> list[dict[str, Any]]:
        """Logins the ERP could see, per agent per calendar day (the database's time zone),
        newest day first."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT agent, date_trunc('day', at)::date AS day, count(*) AS logins"
                f" FROM logins WHERE {_COUNTED} AND at >= date_trunc('day', now())"
                " - make_interval(days => %s) GROUP BY agent, day ORDER BY day DESC, agent",
                (days - 1,),
            ).fetchall()

    def reject_login(self, agent: str, error: str) -> None:
        """The ERP refused the agent's login: open their breaker until the credentials change."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE agents SET login_rejected_at = now(), login_rejected_error = %s"
                " WHERE agent = %s",
                (error, agent),
            )
            conn.execute("DELETE FROM agent_sessions WHERE agent = %s", (agent,))

    def login_breaker(self, agent: str) -> tuple[dt.datetime, str] | None:
        """When and why the agent's login was refused, while their credentials are unchanged."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT login_rejected_at, login_rejected_error FROM agents"
                " WHERE agent = %s AND login_rejected_at IS NOT NULL",
                (agent,),
            ).fetchone()
        return None if row is None else (row["login_rejected_at"], str(row["login_rejected_error"]))

    def open_login_breakers(self) -> list[dict[str, Any]]:
        """Every agent whose login breaker is open."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT agent, login_rejected_at, login_rejected_error FROM agents"
                " WHERE login_rejected_at IS NOT NULL ORDER BY agent"
            ).fetchall()


def _registered_agents(conn: Any) -> int:
    row = conn.execute("SELECT count(*) AS n FROM agents").fetchone()
    return int(row["n"]) if row is not None else 0


def _count(conn: Any, where: str, params: tuple[Any, ...]) -> int:
    row = conn.execute(f"SELECT count(*) AS n FROM logins {where}", params).fetchone()
    return int(row["n"]) if row is not None else 0


def _newest_reset(conn: Any, agent: str | None) -> dt.datetime | None:
    row = conn.execute(
        "SELECT max(at) AS at FROM login_budget_resets WHERE agent IS NOT DISTINCT FROM %s", (agent,)
    ).fetchone()
    return None if row is None else row["at"]


def _address_since(conn: Any, since: dt.datetime) -> dt.datetime:
    """The window's start, or the address's newest budget reset if later."""
    reset = _newest_reset(conn, None)
    return max(since, reset) if reset is not None else since


def _agent_wait(conn: Any, agent: str, budget: LoginBudget, now: dt.datetime) -> LoginWait | None:
    """When the agent's own budget lets a login through, if it is spent now."""
    window = dt.timedelta(seconds=budget.window_s)
    since = now - window
    reset = _newest_reset(conn, agent)
    if reset is not None:
        since = max(since, reset)
    back_at = _budget_back_at(conn, f"WHERE agent = %s AND {_COUNTED} AND at > %s",
                              (agent, since), budget.per_agent, window)
    if back_at is None:
        return None
    return LoginWait("agent", budget.per_agent, back_at, (back_at - now).total_seconds())


def _budget_waits(conn: Any, agent: str | None, budget: LoginBudget, now: dt.datetime) -> list[LoginWait]:
    """Every budget a login of ``agent`` now would exceed (None: only the address's)."""
    waits: list[LoginWait] = []
    if agent is not None and budget.per_agent > 0:
        wait = _agent_wait(conn, agent, budget, now)
        if wait is not None:
            waits.append(wait)
    window = dt.timedelta(seconds=budget.window_s)
    address_since = _address_since(conn, now - window)
    per_address = budget.address_budget(_registered_agents(conn))
    minute = dt.timedelta(seconds=MINUTE_S)
    for scope, size, span, since in (
        ("address", per_address, window, address_since),
        ("address_minute", budget.per_address_minute, minute, max(address_since, now - minute)),
    ):
        if size <= 0:
            continue
        back_at = _budget_back_at(conn, f"WHERE {_COUNTED} AND at > %s", (since,), size, span)
        if back_at is not None:
            waits.append(LoginWait(scope, size, back_at, (back_at - now).total_seconds()))
    return waits


def _budget_back_at(
    conn: Any, where: str, params: tuple[Any, ...], budget: int, window: dt.timedelta
) -> dt.datetime | None:
    """When the logins matching ``where`` drop below ``budget`` in the window (None: they are)."""
    row = conn.execute(
        f"SELECT at FROM logins {where} ORDER BY at DESC OFFSET %s LIMIT 1", (*params, budget - 1)
    ).fetchone()
    if row is None:
        return None
    back_at: dt.datetime = row["at"] + window
    return back_at
