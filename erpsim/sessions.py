"""Server-side sessions (cookies ``ASP.NET_SessionId`` + ``Login``) with idle expiry and drafts.

One session's requests are served one at a time, as ASP.NET serializes the requests of a
session that holds session state (FACTS §1, HTTP:38-40): a second concurrent request of the
same session waits on the session's lock until the first has been answered.

The cookie names are the real Archibald's (FACTS §1): ``Login`` carries the auth ticket,
``xafkidemovbUserName`` remembers the last user name for 30 days; there is no ``.ASPXAUTH``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from erpsim.model import Order

SESSION_COOKIE = "ASP.NET_SessionId"
AUTH_COOKIE = "Login"
USERNAME_COOKIE = "xafkidemovbUserName"
USERNAME_COOKIE_MAX_AGE_S = 30 * 24 * 3600
#: The real ``Login`` cookie is an encrypted ticket of ~350 bytes: the simulator's is as long.
AUTH_TOKEN_BYTES = 170


@dataclass
class Session:
    """One logged-in browser session of an agent."""

    session_id: str
    auth_token: str
    agent: str
    last_seen_s: float
    #: Unsaved orders keyed by their draft key (kept in the page's __VIEWSTATE).
    drafts: dict[str, Order] = field(default_factory=dict)
    #: Held while one of the session's requests is served: the next one waits for it.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: Requests of this session being served right now (1 at most while the lock works).
    active: int = 0
    #: What the order form of each draft key knows beyond the order (views_order.OrderForm).
    forms: dict[str, Any] = field(default_factory=dict)


class SessionStore:
    """All live sessions; expiry is checked lazily on every request."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def create(self, agent: str, kick_others: bool) -> Session:
        if kick_others:
            self.expire_agent(agent)
        session = Session(
            session_id=secrets.token_hex(12),
            auth_token=secrets.token_hex(AUTH_TOKEN_BYTES).upper(),
            agent=agent,
            last_seen_s=time.monotonic(),
        )
        self._sessions[session.session_id] = session
        return session

    def lookup(
        self, session_id: str | None, auth_token: str | None, expiry_s: float
    ) -> Session | None:
        """The live session for these cookies, touching it; None if unknown or idle too long."""
        if not session_id or not auth_token:
            return None
        session = self._sessions.get(session_id)
        if session is None or session.auth_token != auth_token:
            return None
        now = time.monotonic()
        if now - session.last_seen_s > expiry_s:
            del self._sessions[session_id]
            return None
        session.last_seen_s = now
        return session

    def drop(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def expire_agent(self, agent: str) -> int:
        doomed = [sid for sid, s in self._sessions.items() if s.agent == agent]
        for sid in doomed:
            del self._sessions[sid]
        return len(doomed)

    def clear(self) -> None:
        self._sessions.clear()
