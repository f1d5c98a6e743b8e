"""The browser pool: one Chromium per worker process, one warm context per agent.

Everything here lives on the event loop that first uses the pool (the worker's
AsyncIO-middleware loop); the pool never creates a loop of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Self

from pyppeteer.errors import PyppeteerError

from pool import procstat
from pool.browser import DEFAULT_LAUNCH_TIMEOUT_S, Chromium, launch_chromium
from pool.errors import BrowserCrashed, ContextsExhausted, PoolClosed, PoolError
from pool.language import DEFAULT_LANG, accept_language, check_lang
from pool.page import DEFAULT_BLOCKED_PATTERNS, DEFAULT_NAVIGATION_TIMEOUT_MS, prepare_page
from pool.session import AgentSession

logger = logging.getLogger(__name__)

DEFAULT_CONTEXTS_PER_BROWSER = 5
#: How long ``context()`` waits for a context to be released when all are in use.
DEFAULT_CONTEXT_WAIT_TIMEOUT_S = 60.0
#: Attempts at opening a context when Chromium dies under the attempt itself.
_OPEN_ATTEMPTS = 2


class BrowserPool:
    """One headless Chromium and up to ``contexts_per_browser`` isolated agent contexts.

    ``async with pool.context(agent) as session`` hands out the agent's warm
    context (or opens one, evicting the least recently used idle context when
    full). A context in use is never evicted; one agent has at most one
    context and one page, so a second ``context()`` for the same agent waits
    for the first to be released. If Chromium died, the next ``context()``
    relaunches it; an operation that was running when it died ends in
    :class:`BrowserCrashed`.
    """

    def __init__(
        self,
        *,
        chromium_path: str,
        contexts_per_browser: int = DEFAULT_CONTEXTS_PER_BROWSER,
        launch_timeout_s: float = DEFAULT_LAUNCH_TIMEOUT_S,
        blocked_url_patterns: Sequence[str] = DEFAULT_BLOCKED_PATTERNS,
        default_timeout_ms: int = DEFAULT_NAVIGATION_TIMEOUT_MS,
        context_wait_timeout_s: float = DEFAULT_CONTEXT_WAIT_TIMEOUT_S,
        lang: str = DEFAULT_LANG,
    ) -> None:
        if contexts_per_browser < 1:
            raise ValueError(f"contexts_per_browser must be at least 1, not {contexts_per_browser}")
        self._chromium_path = chromium_path
        #: The browser's language ("it-IT"): ERP labels and grid formats follow it.
        self._lang = check_lang(lang)
        self._contexts_per_browser = contexts_per_browser
        self._launch_timeout_s = launch_timeout_s
        self._blocked_url_patterns = tuple(blocked_url_patterns)
        self._default_timeout_ms = default_timeout_ms
        self._context_wait_timeout_s = context_wait_timeout_s

        self._chromium: Chromium | None = None
        self._launches = 0
        self._evictions = 0
        self._closed = False
        # Sessions of the current launch only; a relaunch empties it.
        self._sessions: dict[str, AgentSession] = {}
        self._agent_locks: dict[str, asyncio.Lock] = {}
        # Slots promised to contexts being opened right now.
        self._reserved = 0
        # Guards _sessions/_reserved/in_use; notified whenever a slot may have freed up.
        self._changed = asyncio.Condition()
        self._launch_lock = asyncio.Lock()

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Launch Chromium (at worker boot); a no-op if it is already running."""
        await self._ensure_browser()

    async def close(self) -> None:
        """Close every context and Chromium, leaving no process behind. Idempotent."""
        self._closed = True
        async with self._changed:
            self._changed.notify_all()
        async with self._launch_lock:
            chromium, self._chromium = self._chromium, None
            self._sessions.clear()
            if chromium is not None:
                await chromium.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _ensure_browser(self) -> Chromium:
        """The running Chromium; (re)launched if there is none or it died."""
        async with self._launch_lock:
            if self._closed:
                raise PoolClosed("the browser pool is closed")
            chromium = self._chromium
            if chromium is not None and chromium.alive:
                return chromium
            if chromium is not None:
                logger.warning(
                    "Chromium %d died (exit code %s); relaunching",
                    chromium.pid,
                    chromium.process.returncode,
                )
                self._chromium = None
                # Its contexts died with it; holders of in-use sessions keep their
                # objects and get BrowserCrashed when they leave the `async with`.
                async with self._changed:
                    self._sessions.clear()
                    self._changed.notify_all()
                await chromium.close()
            self._chromium = await launch_chromium(
                self._chromium_path, launch_timeout_s=self._launch_timeout_s, lang=self._lang
            )
            self._launches += 1
            return self._chromium

    # -- contexts --------------------------------------------------------------

    def context(self, agent: str) -> contextlib.AbstractAsyncContextManager[AgentSession]:
        """``async with pool.context(agent) as session``: the agent's context, held until exit."""
        return self._hold(agent)

    @contextlib.asynccontextmanager
    async def _hold(self, agent: str) -> AsyncIterator[AgentSession]:
        if self._closed:
            raise PoolClosed("the browser pool is closed")
        lock = self._agent_locks.setdefault(agent, asyncio.Lock())
        async with lock:
            session = await self._checkout(agent)
            try:
                yield session
            except BaseException as exc:
                crashed = not self._is_live(session)
                await self._release(session, drop=crashed or session.page.isClosed())
                if not crashed or isinstance(exc, (asyncio.CancelledError, PoolError)):
                    raise
                if self._closed:
                    raise PoolClosed(
                        f"the browser pool was closed during agent {agent}'s operation"
                    ) from exc
                raise BrowserCrashed(
                    f"Chromium died during agent {agent}'s operation: {exc}"
                ) from exc
            else:
                await self._release(session, drop=not self._is_live(session))

    def _is_live(self, session: AgentSession) -> bool:
        chromium = self._chromium
        return (
            chromium is not None
            and chromium.alive
            and session.launch_number == self._launches
            and self._sessions.get(session.agent) is session
        )

    async def _checkout(self, agent: str) -> AgentSession:
        """Mark the agent's live session in use, or open a new one. Caller holds the agent lock."""
        deadline = time.monotonic() + self._context_wait_timeout_s
        for attempt in range(1, _OPEN_ATTEMPTS + 1):
            chromium = await self._ensure_browser()
            stale: AgentSession | None = None
            async with self._changed:
                session = self._sessions.get(agent)
                if session is not None:
                    if self._is_live(session) and not session.page.isClosed():
                        session.in_use = True
                        return session
                    # Its renderer crashed or its page was closed: start over.
                    stale = self._sessions.pop(agent)
                    self._changed.notify_all()
            if stale is not None:
                await _close_context_quietly(stale)
            try:
                return await self._open(agent, chromium, deadline)
            except PyppeteerError as exc:
                if chromium.alive:
                    raise PoolError(f"could not open a context for agent {agent}: {exc}") from exc
                if attempt == _OPEN_ATTEMPTS:
                    raise BrowserCrashed(
                        f"Chromium died twice while opening agent {agent}'s context"
                    ) from exc
        raise AssertionError("unreachable")

    async def _open(self, agent: str, chromium: Chromium, deadline: float) -> AgentSession:
        """Open a fresh context and page for ``agent``, evicting an idle context if full."""
        victim = await self._reserve_slot(agent, deadline)
        session: AgentSession | None = None
        try:
            if victim is not None:
                logger.info("evicting agent %s's context for agent %s", victim.agent, agent)
                await _close_context_quietly(victim)
            browser_context = await chromium.browser.createIncognitoBrowserContext()
            try:
                page = await browser_context.newPage()
                await prepare_page(
                    page,
                    blocked_url_patterns=self._blocked_url_patterns,
                    navigation_timeout_ms=self._default_timeout_ms,
                    accept_language=accept_language(self._lang),
                )
            except BaseException:
                with contextlib.suppress(Exception):
                    await browser_context.close()
                raise
            session = AgentSession(
                agent=agent,
                context=browser_context,
                page=page,
                launch_number=self._launches,
                in_use=True,
            )
        finally:
            async with self._changed:
                self._reserved -= 1
                if session is not None and chromium is self._chromium:
                    self._sessions[agent] = session
                self._changed.notify_all()
        return session

    async def _reserve_slot(self, agent: str, deadline: float) -> AgentSession | None:
        """Promise a slot to ``agent``; returns the idle session evicted to make room, if any."""
        async with self._changed:
            while True:
                if self._closed:
                    raise PoolClosed("the browser pool is closed")
                if len(self._sessions) + self._reserved < self._contexts_per_browser:
                    self._reserved += 1
                    return None
                idle = [s for s in self._sessions.values() if not s.in_use]
                if idle:
                    victim = min(idle, key=lambda s: s.last_used_monotonic)
                    del self._sessions[victim.agent]
                    self._reserved += 1
                    self._evictions += 1
                    return victim
                remaining_s = deadline - time.monotonic()
                if remaining_s <= 0:
                    raise ContextsExhausted(
                        f"all {self._contexts_per_browser} browser contexts stayed in use for "
                        f"{self._context_wait_timeout_s:g} s; agent {agent} could not get one "
                        "(run at most contexts_per_browser operations at once per process)"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining_s)

    async def _release(self, session: AgentSession, *, drop: bool) -> None:
        """Hand the session back; close its context first if it is dropped or forgotten."""
        session.last_used_monotonic = time.monotonic()
        drop = drop or session.discard_on_release
        if drop and self._is_live(session):
            await _close_context_quietly(session)
        async with self._changed:
            session.in_use = False
            if drop and self._sessions.get(session.agent) is session:
                del self._sessions[session.agent]
            self._changed.notify_all()

    async def forget(self, agent: str) -> None:
        """Close the agent's context (e.g. after a failed login); if in use, when it is released."""
        async with self._changed:
            session = self._sessions.get(agent)
            if session is None:
                return
            if session.in_use:
                session.discard_on_release = True
                return
            # Out of the dict first, so nobody evicts or checks it out while it closes.
            del self._sessions[agent]
        await _close_context_quietly(session)
        async with self._changed:
            self._changed.notify_all()

    # -- observation -----------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters for logs and the bench: contexts, launches, evictions, Chromium's pid."""
        chromium = self._chromium
        return {
            "contexts_open": len(self._sessions),
            "contexts_in_use": sum(1 for s in self._sessions.values() if s.in_use),
            "contexts_per_browser": self._contexts_per_browser,
            "launches": self._launches,
            "evictions": self._evictions,
            "chromium_pid": chromium.pid if chromium is not None and chromium.alive else None,
        }

    @property
    def pids(self) -> list[int]:
        """Chromium's browser pid and all its live descendants (for RSS/CPU measurement)."""
        chromium = self._chromium
        if chromium is None or chromium.process.returncode is not None:
            return []
        return procstat.process_tree(chromium.pgid)


async def _close_context_quietly(session: AgentSession) -> None:
    """Dispose of a session's context; a dead browser or an already closed context is fine."""
    with contextlib.suppress(PyppeteerError, ConnectionError, TimeoutError):
        await session.context.close()
