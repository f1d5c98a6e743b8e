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
from store.logins import _COUNTED, LoginLedger

log = logging.getLogger("archibot.agents")


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


class AgentStore(LoginLedger):
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

    def overview(self) -> list[dict[str, Any]]:
        """Each agent's ERP username, last login and logins today — never a secret."""
        with self._db.connection() as conn:
            return conn.execute(
                "SELECT a.agent, a.erp_username, a.updated_at,"
                " (SELECT max(at) FROM logins l WHERE l.agent = a.agent"
                f"   AND l.{_COUNTED}) AS last_login,"
                " (SELECT count(*) FROM logins l WHERE l.agent = a.agent"
                f"   AND l.{_COUNTED} AND l.at >= date_trunc('day', now())) AS logins_today"
                " FROM agents a ORDER BY a.agent"
            ).fetchall()

    def forget_cookies(self, agent: str) -> None:
        """Drop the agent's saved session (it expired or was rejected)."""
        with self._db.connection() as conn:
            conn.execute("DELETE FROM agent_sessions WHERE agent = %s", (agent,))

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
