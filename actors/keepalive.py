"""Keep each agent's shared ERP session alive, so the ERP's idle expiry never costs a login.

The ERP drops a session after 20-30 idle minutes (FACTS §1), and logins are what its
operator counts: a session that expired between two operations costs one from the agent's
login budget. An agent's session is logged in once and shared by every worker process (its
cookies, encrypted in ``agent_sessions``), so it is kept alive from there too, whichever
process — if any — still holds a browser context for the agent: a session the ERP has not
seen for ``ARCHIBOT_KEEPALIVE_S`` (no operation, no keep-alive) gets one cheap request,
``Default.aspx`` under its cookies with the redirect not followed (no page is rendered). A
session whose agent had no operation for ``ARCHIBOT_KEEPALIVE_MAX_IDLE_S`` is let go.

Every worker process runs this loop; a Redis key lets one of them do each round. A
keep-alive is one more request of the agent's ERP session, so it follows the rule of every
operation: it holds the agent's lease — never beside a running operation, in any process. If
the lease is taken the agent is busy, which keeps the session alive by itself, and the round
skips them. It never logs in: a session the ERP no longer knows is dropped, and the agent's
next operation logs in, within the login budget.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING

from actors.errors import AgentBusy
from actors.sweeper import take_turn
from erp.errors import ErpUnavailable
from erp.session import touch_session
from pool.language import accept_language

if TYPE_CHECKING:
    from actors.worker import WorkerContext

log = logging.getLogger("archibot.keepalive")

DEFAULT_KEEPALIVE_KEY = "archibot:keepalive"
#: The longest pause between two rounds (a round is one query when nothing is due).
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

    def tick_s(self) -> float:
        """How often a round looks for sessions to keep alive."""
        return max(DEFAULT_MIN_TICK_S, min(DEFAULT_MAX_TICK_S, self.ctx.settings.keepalive_s / 3))

    async def run(self) -> None:
        """Loop until the worker stops; errors are logged, never fatal."""
        while not self.ctx.stopping:
            await asyncio.sleep(self.tick_s())
            try:
                if await self._my_turn():
                    await self.round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (Redis or PostgreSQL down: the next round tries again)
                log.warning("keepalive_failed error=%r", exc)

    async def _my_turn(self) -> bool:
        assert self.ctx.redis is not None
        return await take_turn(self.ctx.redis, DEFAULT_KEEPALIVE_KEY, self.ctx.name, self.tick_s() * 0.9)

    async def round(self) -> int:
        """Touch every shared session the ERP has not seen for ``keepalive_s``; how many."""
        ctx = self.ctx
        if await ctx.breaker.is_open():
            # The ERP is down: a touch cannot reach it (and would not drop the session); the
            # first round after its return catches up.
            return 0
        due = await ctx.db_call(ctx.agents.sessions_due, ctx.settings.keepalive_s,
                                ctx.settings.keepalive_max_idle_s)
        touched = 0
        for agent in due:
            if ctx.stopping:
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
            async with ctx.lock.held(agent, token, token, floor):
                stored = await ctx.db_call(ctx.agents.load_session, agent)
                if stored is None:
                    return False
                try:
                    alive = await touch_session(
                        ctx.settings.erp_base(), stored.cookies,
                        accept_language=accept_language(ctx.settings.erp_lang),
                    )
                except ErpUnavailable as exc:
                    log.info("keepalive_unanswered agent=%s error=%s", agent, exc)
                    return False
                self.touches += 1
                if alive:
                    await ctx.db_call(ctx.agents.mark_seen, agent, stored.saved_at)
                    log.debug("keepalive agent=%s", agent)
                else:
                    # Gone anyway (kicked, ERP restarted): the next operation logs in, in budget.
                    await ctx.db_call(ctx.agents.forget_session, agent, stored.saved_at)
                    log.info("keepalive_session_gone agent=%s", agent)
                return True
        except AgentBusy:
            return False  # an operation holds the lease: it keeps the session alive itself
