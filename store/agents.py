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

    def save_cookies(self, agent: str, cookies: list[dict[str, object]]) -> None:
        """Keep the agent's ERP session cookies for other processes to reuse."""
        sealed = self._box.seal(json.dumps(cookies))
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO agent_sessions (agent, cookies_enc) VALUES (%s, %s)"
                " ON CONFLICT (agent) DO UPDATE SET cookies_enc = EXCLUDED.cookies_enc,"
                " saved_at = now()",
                (agent, sealed),
            )

    def load_cookies(self, agent: str) -> list[dict[str, object]] | None:
        """The agent's last saved ERP session cookies, or None."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT cookies_enc FROM agent_sessions WHERE agent = %s", (agent,)
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
        return cookies

    def record_login(self, agent: str, worker: str) -> None:
        """Count one ERP login of the agent (the real ERP blocks clients that log in too often)."""
        with self._db.connection() as conn:
            conn.execute("INSERT INTO logins (agent, worker) VALUES (%s, %s)", (agent, worker))

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
