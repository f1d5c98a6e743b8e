"""One headless Chromium per worker process, one isolated warm context per agent.

The pool knows nothing of Dramatiq, the ERP or the store: callers pass its
configuration in and log in themselves (``session.logged_in`` is theirs).
"""

from __future__ import annotations

from pool.browser import CHROMIUM_ARGS, DEFAULT_CHROMIUM_PATH, DEFAULT_LAUNCH_TIMEOUT_S
from pool.cookies import export_cookies, import_cookies
from pool.errors import (
    BrowserCrashed,
    ChromiumNotFound,
    ContextsExhausted,
    LaunchFailed,
    PoolClosed,
    PoolError,
)
from pool.page import DEFAULT_BLOCKED_PATTERNS, DEFAULT_NAVIGATION_TIMEOUT_MS
from pool.pool import DEFAULT_CONTEXT_WAIT_TIMEOUT_S, DEFAULT_CONTEXTS_PER_BROWSER, BrowserPool
from pool.procstat import cpu_seconds, process_tree, pss_bytes, rss_bytes
from pool.session import AgentSession

__all__ = [
    "CHROMIUM_ARGS",
    "DEFAULT_BLOCKED_PATTERNS",
    "DEFAULT_CHROMIUM_PATH",
    "DEFAULT_CONTEXTS_PER_BROWSER",
    "DEFAULT_CONTEXT_WAIT_TIMEOUT_S",
    "DEFAULT_LANG",
    "DEFAULT_LAUNCH_TIMEOUT_S",
    "DEFAULT_NAVIGATION_TIMEOUT_MS",
    "AgentSession",
    "BrowserCrashed",
    "BrowserPool",
    "ChromiumNotFound",
    "ContextsExhausted",
    "LaunchFailed",
    "PoolClosed",
    "PoolError",
    "accept_language",
    "cpu_seconds",
    "export_cookies",
    "import_cookies",
    "process_tree",
    "pss_bytes",
    "rss_bytes",
]
