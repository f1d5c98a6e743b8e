"""The agent's slice of the browser: one isolated context and its one reused page."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pyppeteer.browser import BrowserContext
from pyppeteer.page import Page


@dataclass(eq=False)
class AgentSession:
    """What ``BrowserPool.context(agent)`` yields: an agent's warm context and page.

    ``logged_in`` is the caller's to set after a successful ERP login; the pool
    only resets it (a new session starts ``False``, e.g. after a relaunch).
    """

    agent: str
    context: BrowserContext
    page: Page
    #: Which Chromium launch of the pool this session lives in (1, 2, ...).
    launch_number: int
    logged_in: bool = False
    last_used_monotonic: float = field(default_factory=time.monotonic)
    in_use: bool = False
    #: Set by ``forget()`` while in use: the context is closed when it is released.
    discard_on_release: bool = False
