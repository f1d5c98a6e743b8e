"""The agent lock: a Redis lease per agent, with a token and a fence.

``SET NX PX`` takes the lease with a token that names the message; a monotonic
fence number comes with each acquisition. The lease is renewed while the
operation runs and released only by its owner (compare-and-delete in Lua), so a
holder that was paused past its lease can neither release nor extend the lease
of the holder that came after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib.resources import files

import redis
import redis.asyncio as aioredis

from actors.errors import AgentBusy, LockLost
from archibot.keys import FENCE_PREFIX, LOCK_PREFIX

log = logging.getLogger(__name__)

DEFAULT_LOCK_PREFIX = LOCK_PREFIX
DEFAULT_FENCE_PREFIX = FENCE_PREFIX
#: How long releasing a lease waits for its renewer to stop.
DEFAULT_RENEWER_STOP_S = 2.0


def _script(name: str) -> str:
    return (files("actors") / name).read_text(encoding="utf-8")


@dataclass
class Lease:
    """A held agent lock: who holds it (token) and its fence."""

    agent: str
    token: str
    fence: int
    lost: bool = field(default=False)
    #: When (monotonic) the last acquire or renewal that succeeded was sent: Redis expires the
    #: lease no sooner than ``ttl`` after it.
    confirmed_at: float = field(default_factory=time.monotonic)


class AgentLock:
    """Leases on agents in Redis. All methods are coroutines of one event loop."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        ttl_ms: int,
        lock_prefix: str = DEFAULT_LOCK_PREFIX,
        fence_prefix: str = DEFAULT_FENCE_PREFIX,
    ) -> None:
        self._client = client
        self.ttl_ms = ttl_ms
        self._lock_prefix = lock_prefix
        self._fence_prefix = fence_prefix
        self._acquire = client.register_script(_script("acquire.lua"))
        self._release = client.register_script(_script("release.lua"))
        self._extend = client.register_script(_script("extend.lua"))

    def _key(self, agent: str) -> str:
        return self._lock_prefix + agent

    async def acquire(self, agent: str, token: str, fence_floor: int = 0) -> Lease | None:
        """Take the agent's lease, or None if another holder has it.

        The lease's token is ``token`` (naming the message) plus a random suffix, so two
        deliveries of one message never mistake each other's lease for their own. The
        fence is above ``fence_floor`` (the journal's highest) even after Redis lost it.
        """
        unique = f"{token}:{uuid.uuid4().hex[:12]}"
        sent = time.monotonic()
        fence = await self._acquire(
            keys=[self._key(agent), self._fence_prefix + agent], args=[unique, self.ttl_ms, fence_floor]
        )
        return Lease(agent, unique, int(fence), confirmed_at=sent) if int(fence) > 0 else None

    async def release(self, lease: Lease) -> bool:
        """Give the lease back; False if it was no longer ours (expired, taken over)."""
        released = bool(await self._release(keys=[self._key(lease.agent)], args=[lease.token]))
        if not released:
            lease.lost = True
        return released

    async def extend(self, lease: Lease) -> bool:
        """Renew the lease for another ``ttl_ms``; False if it is no longer ours."""
        sent = time.monotonic()
        extended = bool(
            await self._extend(keys=[self._key(lease.agent)], args=[lease.token, self.ttl_ms])
        )
        if extended:
            lease.confirmed_at = sent
        else:
            lease.lost = True
        return extended

    async def check(self, lease: Lease) -> None:
        """Raise LockLost unless ``lease`` is still held; call it right before an irreversible step.

        A lease confirmed less than a third of its TTL ago is held without asking Redis: Redis
        expires it no sooner than a TTL after that confirmation, so the step starts with at
        least two thirds of a lease ahead of it, and the renewer confirms it again on time.
        (A write checks before each line's save: asking every time was most of Redis's
        commands per order.) Otherwise it renews the lease as it checks. A holder cut off
        from Redis therefore stops at its next check a third of a TTL after its last
        confirmation at the latest — long before another holder could take the lease.
        """
        fresh = time.monotonic() - lease.confirmed_at < self.ttl_ms / 3000
        if not lease.lost and (fresh or await self.extend(lease)):
            return
        raise LockLost(
            f"the lock of agent {lease.agent!r} (fence {lease.fence}) is no longer held by "
            f"this worker; the irreversible step was not taken"
        )

    @contextlib.asynccontextmanager
    async def held(self, agent: str, token: str, op_id: str, fence_floor: int = 0) -> AsyncIterator[Lease]:
        """Hold the agent's lease for the block, renewing it; AgentBusy if it is taken."""
        lease = await self.acquire(agent, token, fence_floor)
        if lease is None:
            raise AgentBusy(agent, op_id)
        done = asyncio.Event()
        renewer = asyncio.create_task(self._keep(lease, done))
        try:
            yield lease
        finally:
            # The event, not only the cancel, stops the renewer: a cancel that lands inside a
            # Redis call can be swallowed there, and a renewer left running would hold the
            # agent's lease for ever. Waiting is bounded for the same reason.
            done.set()
            renewer.cancel()
            await asyncio.wait({renewer}, timeout=DEFAULT_RENEWER_STOP_S)
            try:
                await self.release(lease)
            except redis.RedisError:
                log.warning("lock_release_failed agent=%s fence=%d", agent, lease.fence)

    async def _keep(self, lease: Lease, done: asyncio.Event) -> None:
        """Renew the lease a third of its TTL after it was last confirmed — by this loop or by
        a ``check()``, whose renewal this loop then need not repeat."""
        interval_s = self.ttl_ms / 3000
        failed_at = float("-inf")
        while not lease.lost and not done.is_set():
            # After a failed renewal, the next try is a whole interval later, as before.
            due_in_s = max(lease.confirmed_at, failed_at) + interval_s - time.monotonic()
            if due_in_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), due_in_s)
                if done.is_set():
                    return
                if max(lease.confirmed_at, failed_at) + interval_s > time.monotonic():
                    continue  # a check() renewed it meanwhile
            if done.is_set():
                return
            try:
                if not await self.extend(lease):
                    log.warning("lock_lost agent=%s fence=%d", lease.agent, lease.fence)
            except redis.RedisError:
                # Unconfirmed is not held: the irreversible steps' check() will decide.
                failed_at = time.monotonic()
                log.warning("lock_extend_failed agent=%s fence=%d", lease.agent, lease.fence)
