"""The agent's slice of the browser: one isolated context and its one reused page."""

from __future__ import annotations

import datetime as dt
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
    #: The caller's: which shared ERP session the context holds (when its cookies were saved,
    #: by a login here or in another process), so a newer one can be adopted instead of
    #: logging in again.
    cookies_saved_at: dt.datetime | None = None
    #: The caller's: when it last recorded that the ERP saw this session (monotonic).
    seen_marked_monotonic: float = 0.0
