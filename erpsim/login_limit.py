"""The ERP operator's block of clients that log in too often (FACTS §1).

The real operator blacklisted the original bot's address after 48–150 logins a day
(`docs/superpowers/specs/2026-05-25-vpn-relay-auto-mode-design.md:7-45`). The simulator counts
login attempts (the posts of the login action, accepted or not) per client address in a
sliding window; past ``login_limit`` attempts in ``login_window_s`` it refuses further logins
from that address with HTTP 403 until enough of them have aged out of the window. Refused
attempts are not counted (they would extend the block for ever). A limit of 0 means no limit.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Address:
    attempts: deque[float] = field(default_factory=deque)
    refused: int = 0
    total: int = 0


class LoginLimiter:
    """Login attempts per client address in a sliding window."""

    def __init__(self) -> None:
        self._by_address: dict[str, _Address] = {}

    def allow(self, address: str, limit: int, window_s: float) -> bool:
        """Count one login attempt from ``address``; False (not counted) if it is over the limit."""
        entry = self._by_address.setdefault(address, _Address())
        now = time.monotonic()
        _forget_before(entry, now - window_s)
        if limit > 0 and len(entry.attempts) >= limit:
            entry.refused += 1
            return False
        entry.attempts.append(now)
        entry.total += 1
        return True

    def retry_after_s(self, address: str, window_s: float) -> float:
        """Seconds until the oldest counted attempt of ``address`` leaves the window."""
        entry = self._by_address.get(address)
        if entry is None or not entry.attempts:
            return 0.0
        return max(0.0, entry.attempts[0] + window_s - time.monotonic())

    def to_json(self, limit: int, window_s: float) -> dict[str, Any]:
        now = time.monotonic()
        addresses = {}
        for address, entry in self._by_address.items():
            _forget_before(entry, now - window_s)
            addresses[address] = {
                "in_window": len(entry.attempts),
                "total": entry.total,
                "refused": entry.refused,
                "blocked": limit > 0 and len(entry.attempts) >= limit,
                "retry_after_s": round(self.retry_after_s(address, window_s), 3),
            }
        return {"login_limit": limit, "login_window_s": window_s, "addresses": addresses}

    def clear(self) -> None:
        self._by_address.clear()


def _forget_before(entry: _Address, cutoff: float) -> None:
    while entry.attempts and entry.attempts[0] <= cutoff:
        entry.attempts.popleft()
