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
from actors.periodic import Periodic, Turn
from archibot.keys import KEEPALIVE_KEY
from erp.errors import ErpUnavailable
from erp.session import touch_session
from pool.language import accept_language

if TYPE_CHECKING:
    from actors.services import Services, WorkerState

log = logging.getLogger("archibot.keepalive")

#: The longest pause between two rounds (a round is one query when nothing is due).
DEFAULT_MAX_TICK_S = 30.0
#: The shortest pause between two rounds.
DEFAULT_MIN_TICK_S = 0.2
#: The longest one agent's keep-alive may take.
DEFAULT_STEP_TIMEOUT_S = 60.0
#: The lock-token prefix of keep-alive leases (an operation's token names its message).
TOKEN_PREFIX = "keepalive-"


def tick_s(keepalive_s: float) -> float:
    """How often a round looks for sessions to keep alive."""
    return max(DEFAULT_MIN_TICK_S, min(DEFAULT_MAX_TICK_S, keepalive_s / 3))


class KeepAlive:
    """The keep-alive loop of one worker process (:attr:`loop`, started with its services)."""

    def __init__(self, services: Services, state: WorkerState) -> None:
        self.services = services
        self.state = state
        self.touches = 0
        tick = tick_s(services.settings.keepalive_s)
        # A round is bounded agent by agent (DEFAULT_STEP_TIMEOUT_S each), not as a whole.
        self.loop = Periodic(
            "keepalive", self.round, tick_s=tick, stopping=lambda: state.stopping,
            step_timeout_s=None, logger=log,
            turn=Turn(services.redis, KEEPALIVE_KEY, services.name, tick * 0.9),
        )

    async def round(self) -> int:
        """Touch every shared session the ERP has not seen for ``keepalive_s``; how many."""
        services = self.services
        settings = services.settings
        if await services.breaker.is_open():
            # The ERP is down: a touch cannot reach it (and would not drop the session); the
            # first round after its return catches up.
            return 0
        due = await services.db_call(services.agents.sessions_due, settings.keepalive_s,
                                     settings.keepalive_max_idle_s)
        touched = 0
        for agent in due:
            if self.state.stopping:
                break
            if await asyncio.wait_for(self.touch(agent), DEFAULT_STEP_TIMEOUT_S):
                touched += 1
        return touched

    async def touch(self, agent: str) -> bool:
        """Keep ``agent``'s session alive under their lease; whether a request was sent."""
        services = self.services
        claims = services.claims
        if await services.db_call(claims.has_ready, agent):
            return False  # an operation is about to use the session anyway
        floor = await services.db_call(claims.max_fence, agent)
        token = TOKEN_PREFIX + uuid.uuid4().hex
        try:
            async with services.lock.held(agent, token, token, floor):
                stored = await services.db_call(services.agents.load_session, agent)
                if stored is None:
                    return False
                try:
                    alive = await touch_session(
                        services.settings.erp_base(), stored.cookies,
                        accept_language=accept_language(services.settings.erp_lang),
                        ssl_context=services.erp_ssl,
                    )
                except ErpUnavailable as exc:
                    log.info("keepalive_unanswered agent=%s error=%s", agent, exc)
                    return False
                self.touches += 1
                if alive:
                    await services.db_call(services.agents.mark_seen, agent, stored.saved_at)
                    log.debug("keepalive agent=%s", agent)
                else:
                    # Gone anyway (kicked, ERP restarted): the next operation logs in, in budget.
                    await services.db_call(services.agents.forget_session, agent, stored.saved_at)
                    log.info("keepalive_session_gone agent=%s", agent)
                return True
        except AgentBusy:
            return False  # an operation holds the lease: it keeps the session alive itself
