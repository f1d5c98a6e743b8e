"""The browser pool: one Chromium per worker process, one warm context per agent.

Everything here lives on the event loop that first uses the pool (the worker's
AsyncIO-middleware loop); the pool never creates a loop of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self

from pyppeteer.errors import PyppeteerError

import pool.procstat as procstat
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
#: Chromium is replaced once it is this old: opening a page slowed from under 200 ms to
#: 30 s after about 30 minutes on the original system, which restarted every 90 min
#: (FACTS §10, POOL:497-500).
DEFAULT_MAX_BROWSER_AGE_S = 3_600.0
#: A new context and page taking longer than this marks Chromium degraded: it is replaced
#: at the next checkout (healthy: well under 200 ms).
DEFAULT_DEGRADED_NEW_PAGE_MS = 5_000.0
#: How many of the latest newPage timings :meth:`BrowserPool.stats` summarises: enough for a
#: stable median, few enough that a slowing Chromium shows within minutes.
NEW_PAGE_TIMINGS_KEPT = 100


class BrowserPool:
    """One headless Chromium and up to ``contexts_per_browser`` isolated agent contexts.

    ``async with pool.context(agent) as session`` hands out the agent's warm
    context (or opens one, evicting the least recently used idle context when
    full). A context in use is never evicted; one agent has at most one
    context and one page, so a second ``context()`` for the same agent waits
    for the first to be released. If Chromium died, the next ``context()``
    relaunches it; an operation that was running when it died ends in
    :class:`BrowserCrashed`.

    Chromium is recycled before it degrades: once older than ``max_browser_age_s``, or once
    opening a page took longer than ``degraded_new_page_ms``, the next ``context()`` retires
    it and launches a fresh one. A retired Chromium's idle contexts are closed at once; the
    operations still running in it finish there undisturbed, and it is closed when the last
    of them is released. New contexts open in the fresh Chromium (the agents' ERP sessions
    survive through their cookies, which the caller keeps).

    ``launch_args``, when given, is awaited before every launch for more Chromium flags (the
    worker's: what makes Chromium trust the ERP's certificate). If it raises, Chromium is
    launched without them, and replaced at the next checkout, which asks again.
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
        max_browser_age_s: float = DEFAULT_MAX_BROWSER_AGE_S,
        degraded_new_page_ms: float = DEFAULT_DEGRADED_NEW_PAGE_MS,
        launch_args: Callable[[], Awaitable[tuple[str, ...]]] | None = None,
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
        self._max_browser_age_s = max_browser_age_s
        self._degraded_new_page_ms = degraded_new_page_ms
        self._launch_args = launch_args

        self._chromium: Chromium | None = None
        self._launches = 0
        self._evictions = 0
        self._recycles = 0
        self._new_pages = 0
        self._new_page_ms: deque[float] = deque(maxlen=NEW_PAGE_TIMINGS_KEPT)
        #: Retired Chromiums (by launch number) that still run an operation.
        self._retiring: dict[int, Chromium] = {}
        #: Contexts being opened, per launch: a retired Chromium stays up until they are done.
        self._opening: dict[int, int] = {}
        self._closed = False
        # Sessions of the current launch, and those still in use in a retiring one; a
        # relaunch after a crash drops the dead launch's.
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
            retiring = list(self._retiring.values())
            self._retiring.clear()
            for old in [*retiring, chromium]:
                if old is not None:
                    await old.close()

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
                reason = self._recycle_reason(chromium)
                if reason is None:
                    return chromium
                await self._retire(chromium, reason)
            elif chromium is not None:
                logger.warning(
                    "Chromium %d died (exit code %s); relaunching",
                    chromium.pid,
                    chromium.process.returncode,
                )
                self._chromium = None
                # Its contexts died with it; holders of in-use sessions keep their
                # objects and get BrowserCrashed when they leave the `async with`.
                async with self._changed:
                    for dead in [s for s in self._sessions.values()
                                 if s.launch_number == self._launches]:
                        del self._sessions[dead.agent]
                    self._changed.notify_all()
                await chromium.close()
            extra_args, missing = await self._extra_launch_args()
            self._chromium = await launch_chromium(
                self._chromium_path, launch_timeout_s=self._launch_timeout_s, lang=self._lang,
                extra_args=extra_args,
            )
            self._chromium.degraded = missing
            self._launches += 1
            self._chromium.launch_number = self._launches
            return self._chromium

    async def _extra_launch_args(self) -> tuple[tuple[str, ...], str | None]:
        """The caller's launch flags, or none and why (Chromium is then replaced next time)."""
        if self._launch_args is None:
            return (), None
        try:
            return await self._launch_args(), None
        except Exception as exc:  # noqa: BLE001 - whatever it was, launch and ask again later
            logger.warning("chromium_launch_args_failed error=%s (launched without them; "
                           "replaced at the next checkout)", exc)
            return (), f"launched without its extra flags: {exc}"

    def _recycle_reason(self, chromium: Chromium) -> str | None:
        """Why ``chromium`` is due for replacement (too old, degraded), or None."""
        age_s = time.monotonic() - chromium.started_monotonic
        if age_s >= self._max_browser_age_s:
            return f"age {age_s:.0f} s >= {self._max_browser_age_s:g} s"
        return chromium.degraded

    async def _retire(self, chromium: Chromium, reason: str) -> None:
        """Take ``chromium`` out of service (caller holds the launch lock).

        Its idle contexts close now; if an operation still runs in it, it is closed when the
        last such operation releases its context (see ``_release``), else at once.
        """
        launch = self._launches
        self._chromium = None
        self._recycles += 1
        async with self._changed:
            idle = [s for s in self._sessions.values() if s.launch_number == launch and not s.in_use]
            for session in idle:
                del self._sessions[session.agent]
            busy = self._users(launch)
            if busy:
                self._retiring[launch] = chromium
            self._changed.notify_all()
        logger.info(
            "browser_recycle pid=%d launch=%d reason=%s idle_contexts_closed=%d running=%d",
            chromium.pid, launch, reason, len(idle), busy,
        )
        if busy:
            for session in idle:
                await _close_context_quietly(session)
        else:
            await chromium.close()

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

    def _browser_of(self, session: AgentSession) -> Chromium | None:
        """The Chromium ``session`` lives in, if it is still running (current or retiring)."""
        retiring = self._retiring.get(session.launch_number)
        if retiring is not None:
            return retiring
        return self._chromium if session.launch_number == self._launches else None

    def _is_live(self, session: AgentSession) -> bool:
        chromium = self._browser_of(session)
        return (
            chromium is not None
            and chromium.alive
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
                    if (self._is_live(session) and not session.page.isClosed()
                            and session.launch_number == self._launches):
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
        launch = chromium.launch_number
        self._opening[launch] = self._opening.get(launch, 0) + 1
        session: AgentSession | None = None
        reserved = False
        try:
            victim = await self._reserve_slot(agent, deadline)
            reserved = True
            if victim is not None:
                logger.info("evicting agent %s's context for agent %s", victim.agent, agent)
                await _close_context_quietly(victim)
            started = time.monotonic()
            browser_context = await chromium.browser.createIncognitoBrowserContext()
            try:
                page = await browser_context.newPage()
                self._note_new_page_ms(chromium, (time.monotonic() - started) * 1000)
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
                launch_number=launch,
                in_use=True,
            )
            logger.info("context_open agent=%s chromium_pid=%d launch=%d", agent, chromium.pid,
                        launch)
        finally:
            self._opening[launch] -= 1
            if not self._opening[launch]:
                del self._opening[launch]
            last_out = False
            async with self._changed:
                if reserved:
                    self._reserved -= 1
                if session is not None and (
                    chromium is self._chromium or self._retiring.get(launch) is chromium
                ):
                    self._sessions[agent] = session
                elif launch in self._retiring and not self._users(launch):
                    del self._retiring[launch]  # retired while this open failed: close it now
                    last_out = True
                self._changed.notify_all()
            if last_out:
                logger.info("browser_retired pid=%d launch=%d", chromium.pid, launch)
                await chromium.close()
        return session

    def _users(self, launch: int) -> int:
        """Sessions of that launch plus contexts being opened in it (caller holds _changed)."""
        return self._opening.get(launch, 0) + sum(
            1 for s in self._sessions.values() if s.launch_number == launch
        )

    def _note_new_page_ms(self, chromium: Chromium, elapsed_ms: float) -> None:
        """Mark ``chromium`` degraded when opening a page took too long (replaced at the next
        checkout, once its running operations are done)."""
        self._new_pages += 1
        self._new_page_ms.append(elapsed_ms)
        if elapsed_ms > self._degraded_new_page_ms and chromium.degraded is None:
            chromium.degraded = (
                f"newPage took {elapsed_ms:.0f} ms > {self._degraded_new_page_ms:g} ms"
            )
            logger.warning("browser_degraded pid=%d %s", chromium.pid, chromium.degraded)

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
        retiring = self._retiring.get(session.launch_number)
        drop = drop or session.discard_on_release or retiring is not None
        if drop and retiring is None and self._is_live(session):
            await _close_context_quietly(session)
        last_out = False
        async with self._changed:
            session.in_use = False
            if drop and self._sessions.get(session.agent) is session:
                del self._sessions[session.agent]
            if retiring is not None and not self._users(session.launch_number):
                # The last operation of a retired Chromium is done: close it now.
                del self._retiring[session.launch_number]
                last_out = True
            self._changed.notify_all()
        if last_out and retiring is not None:
            logger.info("browser_retired pid=%d launch=%d", retiring.pid, session.launch_number)
            await retiring.close()

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
            "recycles": self._recycles,
            # Recent context+page openings: a Chromium that slows with age shows here first.
            "new_pages": self._new_pages,
            "new_page_ms_p50": round(statistics.median(self._new_page_ms), 1) if self._new_page_ms else None,
            "new_page_ms_max": round(max(self._new_page_ms), 1) if self._new_page_ms else None,
            "browsers_running": (chromium is not None and chromium.alive) + len(self._retiring),
            "chromium_pid": chromium.pid if chromium is not None and chromium.alive else None,
        }

    @property
    def pids(self) -> list[int]:
        """Chromium's browser pid and all its live descendants (for RSS/CPU measurement)."""
        pids: list[int] = []
        for chromium in [self._chromium, *self._retiring.values()]:
            if chromium is not None and chromium.process.returncode is None:
                pids.extend(procstat.process_tree(chromium.pgid))
        return pids


async def _close_context_quietly(session: AgentSession) -> None:
    """Dispose of a session's context; a dead browser or an already closed context is fine."""
    with contextlib.suppress(PyppeteerError, ConnectionError, TimeoutError):
        await session.context.close()
