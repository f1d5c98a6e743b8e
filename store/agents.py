"""Agents, their ERP credentials and their shared ERP session cookies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from store.crypto import SecretBox
from store.db import Database
from store.errors import UnknownAgent


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
                " password_enc = EXCLUDED.password_enc, updated_at = now()",
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
        cookies: list[dict[str, object]] = json.loads(self._box.open(row["cookies_enc"]))
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
