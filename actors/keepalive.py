"""Keep each warm ERP session alive, so the ERP's idle expiry never costs a login.

The ERP drops a session after 20-30 idle minutes (FACTS §1), and logins are what its
operator counts: a session that expired between two operations costs one from the agent's
login budget. Every worker process runs this loop over the agents whose contexts it keeps
warm: a session the ERP has not seen for ``ARCHIBOT_KEEPALIVE_S`` gets one cheap request
(Default.aspx under its cookies, redirect not followed — no page is rendered). A session
idle longer than ``ARCHIBOT_KEEPALIVE_MAX_IDLE_S`` since the agent's last operation is let go.

A keep-alive is one more request of the agent's ERP session, so it follows the rule of every
operation: it holds the agent's lease (never beside a running operation, in any process),
and this process's context for the agent (never beside this process's own use of it). If
either is taken, the agent is busy — which keeps the session alive by itself — and the round
skips it. It never logs in: an expired session is marked so, and the next operation logs in
within the budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

from actors.errors import AgentBusy
from erp.errors import ErpUnavailable
from erp.session import touch_session
from pool import PoolError, export_cookies
from pool.language import accept_language

if TYPE_CHECKING:
    from actors.worker import WorkerContext

log = logging.getLogger("archibot.keepalive")

#: The longest pause between two rounds (a round is cheap: it only looks at the pool).
DEFAULT_MAX_TICK_S = 30.0
#: The shortest pause between two rounds.
DEFAULT_MIN_TICK_S = 0.2
#: The longest one agent's keep-alive may take.
DEFAULT_STEP_TIMEOUT_S = 60.0
#: The lock-token prefix of keep-alive leases (an operation's token names its message).
TOKEN_PREFIX = "keepalive-"


class KeepAlive:
    """The keep-alive loop of one worker process (started and stopped with its context)."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.touches = 0
        #: Each agent's session as this loop last released it (``last_used_monotonic``):
        #: a different value means an operation used it since.
        self._left: dict[str, float] = {}
        #: When each agent's last operation ended, as far as this process saw.
        self._op_ended: dict[str, float] = {}

    def tick_s(self) -> float:
        """How often a round looks for sessions to keep alive."""
        return max(DEFAULT_MIN_TICK_S, min(DEFAULT_MAX_TICK_S, self.ctx.settings.keepalive_s / 3))

    async def run(self) -> None:
        """Loop until the worker stops; errors are logged, never fatal."""
        while not self.ctx.stopping:
            await asyncio.sleep(self.tick_s())
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (Redis or PostgreSQL down: the next round tries again)
                log.warning("keepalive_failed error=%r", exc)

    async def round(self) -> int:
        """Touch every warm session the ERP has not seen for ``keepalive_s``; how many."""
        settings = self.ctx.settings
        now = time.monotonic()
        due = []
        for session in self.ctx.pool.warm_agents():
            agent = session.agent
            if self._left.get(agent) != session.last_used_monotonic:
                self._op_ended[agent] = session.last_used_monotonic
            if not session.logged_in or now - session.last_used_monotonic < settings.keepalive_s:
                continue
            if now - self._op_ended[agent] > settings.keepalive_max_idle_s:
                continue
            due.append(agent)
        touched = 0
        for agent in due:
            if self.ctx.stopping:
                break
            if await asyncio.wait_for(self.touch(agent), DEFAULT_STEP_TIMEOUT_S):
                touched += 1
        return touched

    async def touch(self, agent: str) -> bool:
        """Keep ``agent``'s session alive under their lease; whether a request was sent."""
        ctx = self.ctx
        if await ctx.db_call(ctx.journal.has_ready, agent):
            return False  # an operation is about to use the session anyway
        floor = await ctx.db_call(ctx.journal.max_fence, agent)
        token = TOKEN_PREFIX + uuid.uuid4().hex
        try:
            async with ctx.lock.held(agent, token, token, floor), \
                    ctx.pool.warm_context(agent) as session:
                if session is None or not session.logged_in:
                    return False
                try:
                    cookies = await export_cookies(session)
                    user_agent = await session.page.browser.userAgent()
                    alive = await touch_session(
                        ctx.settings.erp_base(), cookies, user_agent=user_agent,
                        accept_language=accept_language(ctx.settings.erp_lang),
                    )
                except (ErpUnavailable, PoolError) as exc:
                    log.info("keepalive_unanswered agent=%s error=%s", agent, exc)
                    return False
                self.touches += 1
                if not alive:
                    # Gone anyway (kicked, restarted ERP): the next operation logs in, in budget.
                    session.logged_in = False
                    log.info("keepalive_session_gone agent=%s", agent)
                else:
                    log.debug("keepalive agent=%s", agent)
            # Released now: remember its mark, so an operation's use shows as a change.
            self._left[agent] = session.last_used_monotonic
            return True
        except AgentBusy:
            return False  # an operation holds the lease: it keeps the session alive itself
