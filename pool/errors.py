"""Errors of the browser pool.

PoolError
 ├── ChromiumNotFound   the configured Chromium executable does not exist
 ├── LaunchFailed       Chromium started but never offered its DevTools endpoint
 ├── BrowserCrashed     Chromium died (or its connection closed) under an operation
 ├── PoolClosed         the pool was closed; no more contexts are handed out
 └── ContextsExhausted  every context is in use and the pool is at its limit
"""

from __future__ import annotations


class PoolError(Exception):
    """Base class of the pool's errors."""


class ChromiumNotFound(PoolError):
    """The configured Chromium executable does not exist."""

    def __init__(self, chromium_path: str) -> None:
        super().__init__(
            f"Chromium not found at {chromium_path}: "
            "apt-get install -y chromium or set ARCHIBOT_CHROMIUM"
        )
        self.chromium_path = chromium_path


class LaunchFailed(PoolError):
    """Chromium exited or stayed silent before its DevTools endpoint was ready."""


class BrowserCrashed(PoolError):
    """Chromium died, or its DevTools connection closed, while a context was in use."""


class PoolClosed(PoolError):
    """The pool was closed; it hands out no more contexts."""


class ContextsExhausted(PoolError):
    """All contexts are in use and the pool is at its limit for longer than the wait allows."""
