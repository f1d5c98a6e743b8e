"""Agents, their ERP credentials and their shared ERP session cookies."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from store.crypto import SecretBox
from store.db import Database
from store.errors import CredentialsUnreadable, UnknownAgent

log = logging.getLogger("archibot.agents")


#: The advisory lock key that serializes login reservations ("LOGIN" in ASCII).
LOGIN_RESERVATION_LOCK = 0x4C4F47494E


@dataclass(frozen=True)
class LoginBudget:
    """How many ERP logins may be tried per ``window_s``: per agent, and from this client's
    address (all agents together; the ERP's operator blocks the address). 0 = no limit."""

    per_agent: int
    per_address: int
    window_s: float


@dataclass(frozen=True)
class LoginWait:
    """A login budget is spent: which (``agent`` or ``address``), its size, and when (the
    database's clock; ``wait_s`` from now) it lets the next login through."""

    scope: str
    budget: int
    until: dt.datetime
    wait_s: float


@dataclass(frozen=True)
class StoredSession:
    """An agent's shared ERP session: its cookies and when they were saved (a login)."""

    cookies: list[dict[str, object]]
    saved_at: dt.datetime

    def __repr__(self) -> str:
        return f"StoredSession(cookies=*** ({len(self.cookies)}), saved_at={self.saved_at!r})"


@dataclass(frozen=True)
class Credentials:
    """An agent's ERP account. ``repr`` hides the password so logs never carry it."""

    agent: str
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(agent={self.agent!r}, username={self.username!r}, password=***)"


class AgentStore:
    """Agents' credentials and session cookies, encrypted at rest."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    def add(self, agent: str, password: str, *, username: str | None = None) -> None:
        """Store (or replace) an agent's ERP credentials; the ERP username defaults to ``agent``."""
        sealed = self._box.seal(password)
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO agents (agent, erp_username, password_enc) VALUES (%s, %s, %s)"
                " ON CONFLICT (agent) DO UPDATE SET erp_username = EXCLUDED.erp_username,"
                " password_enc = EXCLUDED.password_enc, updated_at = now(),"
                " login_rejected_at = NULL, login_rejected_error = NULL",
                (agent, username or agent, sealed),
            )
            # A new password makes the old session worthless.
            conn.execute("DELETE FROM agent_sessions WHERE agent = %s", (agent,))

    def exists(self, agent: str) -> bool:
        """Whether credentials are stored for ``agent``."""
        with self._db.connection() as conn:
            row = conn.execute("SELECT 1 FROM agents WHERE agent = %s", (agent,)).fetchone()
        return row is not None

    def names(self) -> list[str]:
        """Every agent with stored credentials, sorted."""
        with self._db.connection() as conn:
            rows = conn.execute("SELECT agent FROM agents ORDER BY agent").fetchall()
        return [str(r["agent"]) for r in rows]

    def credentials(self, agent: str) -> Credentials:
        """The agent's decrypted credentials; UnknownAgent when none are stored."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT erp_username, password_enc FROM agents WHERE agent = %s", (agent,)
            ).fetchone()
        if row is None:
            raise UnknownAgent(f"no ERP credentials stored for agent {agent!r}: archibot agents add {agent}")
        return Credentials(agent, str(row["erp_username"]), self._box.open(row["password_enc"]))

    def save_cookies(self, agent: str, cookies: list[dict[str, object]]) -> dt.datetime:
        """Keep the agent's ERP session cookies for other processes to reuse; when saved."""
        sealed = self._box.seal(json.dumps(cookies))
        with self._db.connection() as conn:
            row = conn.execute(
                "INSERT INTO agent_sessions (agent, cookies_enc, saved_at, seen_at, used_at)"
                " VALUES (%s, %s, clock_timestamp(), clock_timestamp(), clock_timestamp())"
                " ON CONFLICT (agent) DO UPDATE SET cookies_enc = EXCLUDED.cookies_enc,"
                " saved_at = EXCLUDED.saved_at, seen_at = EXCLUDED.seen_at,"
                " used_at = EXCLUDED.used_at RETURNING saved_at",
                (agent, sealed),
            ).fetchone()
        assert row is not None
        saved_at: dt.datetime = row["saved_at"]
        return saved_at

    def load_session(self, agent: str) -> StoredSession | None:
        """The agent's saved ERP session (cookies and when they were saved), or None."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT cookies_enc, saved_at FROM agent_sessions WHERE agent = %s", (agent,)
            ).fetchone()
        if row is None:
            return None
        try:
            cookies: list[dict[str, object]] = json.loads(self._box.open(row["cookies_enc"]))
        except (CredentialsUnreadable, ValueError):
            # A session sealed under a retired key (or corrupted) is worth nothing: log in anew.
            log.warning("cookies_unreadable agent=%s (dropped; the next operation logs in)", agent)
            self.forget_cookies(agent)
            return None
        return StoredSession(cookies, row["saved_at"])

    def mark_used(self, agent: str) -> None:
        """An operation just used the agent's session: the ERP saw it now."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE agent_sessions SET seen_at = clock_timestamp(), used_at = clock_timestamp()"
                " WHERE agent = %s",
                (agent,),
            )

    def mark_seen(self, agent: str, saved_at: dt.datetime) -> None:
        """A keep-alive reached the agent's session saved at ``saved_at`` (if still the one)."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE agent_sessions SET seen_at = clock_timestamp()"
                " WHERE agent = %s AND saved_at = %s",
                (agent, saved_at),
            )

    def forget_session(self, agent: str, saved_at: dt.datetime) -> None:
        """Drop the agent's session saved at ``saved_at`` (the ERP no longer knows it), unless
        a newer one replaced it meanwhile."""
        with self._db.connection() as conn:
            conn.execute(
                "DELETE FROM agent_sessions WHERE agent = %s AND saved_at = %s", (agent, saved_at)
            )

    def sessions_due(self, idle_s: float, max_idle_s: float) -> list[str]:
        """Agents whose session the ERP has not seen for ``idle_s``, whose last operation is
        less than ``max_idle_s`` old: the ones to keep alive now, least recently seen first."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT agent FROM agent_sessions"
                " WHERE seen_at < clock_timestamp() - make_interval(secs => %s)"
                " AND used_at > clock_timestamp() - make_interval(secs => %s)"
                " ORDER BY seen_at",
                (idle_s, max_idle_s),
            ).fetchall()
        return [str(r["agent"]) for r in rows]

    def load_cookies(self, agent: str) -> list[dict[str, object]] | None:
        """The agent's last saved ERP session cookies, or None."""
        stored = self.load_session(agent)
        return None if stored is None else stored.cookies

    def record_login(self, agent: str, worker: str) -> None:
        """Count one ERP login of the agent (the real ERP blocks clients that log in too often)."""
        with self._db.connection() as conn:
            conn.execute("INSERT INTO logins (agent, worker) VALUES (%s, %s)", (agent, worker))

    def reserve_login(self, agent: str, worker: str, budget: LoginBudget) -> LoginWait | None:
        """Count a login attempt of ``agent`` now if the budget allows it; else when it will.

        Returns None when the attempt was recorded (the caller then logs in), or which
        budget is spent and when (the database's clock) it lets the next login through. Attempts are counted whether or not the ERP accepts them: the
        ERP's operator counts them all. One transaction-scoped advisory lock serializes the
        reservations of every worker, so two processes never both take the last login.
        """
        window = dt.timedelta(seconds=budget.window_s)
        with self._db.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOGIN_RESERVATION_LOCK,))
            row = conn.execute("SELECT clock_timestamp() AS now").fetchone()
            assert row is not None
            now: dt.datetime = row["now"]
            waits: list[LoginWait] = []
            if budget.per_agent > 0:
                back_at = _budget_back_at(conn, "WHERE agent = %s AND at > %s",
                                          (agent, now - window), budget.per_agent, window)
                if back_at is not None:
                    waits.append(LoginWait("agent", budget.per_agent, back_at,
                                           (back_at - now).total_seconds()))
            if budget.per_address > 0:
                back_at = _budget_back_at(conn, "WHERE at > %s", (now - window,),
                                          budget.per_address, window)
                if back_at is not None:
                    waits.append(LoginWait("address", budget.per_address, back_at,
                                           (back_at - now).total_seconds()))
            if waits:
                return max(waits, key=lambda w: w.until)
            conn.execute(
                "INSERT INTO logins (agent, worker, at) VALUES (%s, %s, %s)", (agent, worker, now)
            )
        return None

    def login_counts(self, window_s: float) -> dict[str, int]:
        """Logins (attempts) per agent over the last ``window_s`` seconds."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT agent, count(*) AS n FROM logins"
                " WHERE at > clock_timestamp() - make_interval(secs => %s) GROUP BY agent",
                (window_s,),
            ).fetchall()
        return {str(r["agent"]): int(r["n"]) for r in rows}

    def logins_by_day(self, days: int = 7) -> list[dict[str, Any]]:
        """Logins per agent per calendar day (the database's time zone), newest day first."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT agent, date_trunc('day', at)::date AS day, count(*) AS logins"
                " FROM logins WHERE at >= date_trunc('day', now()) - make_interval(days => %s)"
                " GROUP BY agent, day ORDER BY day DESC, agent",
                (days - 1,),
            ).fetchall()

    def overview(self) -> list[dict[str, Any]]:
        """Each agent's ERP username, last login and logins today — never a secret."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT a.agent, a.erp_username, a.updated_at,"
                " (SELECT max(at) FROM logins l WHERE l.agent = a.agent) AS last_login,"
                " (SELECT count(*) FROM logins l WHERE l.agent = a.agent"
                "   AND l.at >= date_trunc('day', now())) AS logins_today"
                " FROM agents a ORDER BY a.agent"
            ).fetchall()

    def forget_cookies(self, agent: str) -> None:
        """Drop the agent's saved session (it expired or was rejected)."""
        with self._db.connection() as conn:
            conn.execute("DELETE FROM agent_sessions WHERE agent = %s", (agent,))

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

    def rotate_keys(self) -> tuple[int, int]:
        """Re-encrypt every password and session with the newest key; (passwords, sessions).

        A session no key opens is dropped (the agent logs in again); a password no key opens
        raises CredentialsUnreadable naming the agent, before anything is changed.
        """
        with self._db.connection() as conn, conn.transaction():
            agents = conn.execute("SELECT agent, password_enc FROM agents FOR UPDATE").fetchall()
            resealed = []
            for row in agents:
                try:
                    resealed.append((self._box.reseal(row["password_enc"]), row["agent"]))
                except CredentialsUnreadable:
                    raise CredentialsUnreadable(
                        f"the password of agent {row['agent']!r} does not decrypt with any key: "
                        f"add the key it was stored with to ARCHIBOT_SECRET_KEYS, or store it "
                        f"again (archibot agents add {row['agent']})"
                    ) from None
            for sealed, agent in resealed:
                conn.execute("UPDATE agents SET password_enc = %s WHERE agent = %s", (sealed, agent))
            sessions = conn.execute("SELECT agent, cookies_enc FROM agent_sessions FOR UPDATE").fetchall()
            kept = 0
            for row in sessions:
                try:
                    sealed = self._box.reseal(row["cookies_enc"])
                except CredentialsUnreadable:
                    conn.execute("DELETE FROM agent_sessions WHERE agent = %s", (row["agent"],))
                    continue
                conn.execute(
                    "UPDATE agent_sessions SET cookies_enc = %s WHERE agent = %s", (sealed, row["agent"])
                )
                kept += 1
        return len(resealed), kept


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
