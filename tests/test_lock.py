"""The agent lock against real Redis: leases, tokens, fences, stale holders."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio as aioredis

from actors.errors import AgentBusy, LockLost
from actors.lock import AgentLock
from archibot.settings import Settings


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _lock(settings: Settings, ttl_ms: int = 2_000) -> tuple[aioredis.Redis, AgentLock]:
    client = aioredis.Redis.from_url(settings.redis_url)
    return client, AgentLock(client, ttl_ms=ttl_ms)


def test_one_holder_at_a_time_and_fences_grow(settings: Settings, redis_client: redis.Redis) -> None:
    async def main() -> None:
        client, lock = await _lock(settings)
        first = await lock.acquire("agent01", "msg-1")
        assert first is not None
        assert await lock.acquire("agent01", "msg-2") is None  # busy
        assert await lock.acquire("agent02", "msg-3") is not None  # other agents run in parallel
        assert await lock.release(first)
        second = await lock.acquire("agent01", "msg-2")
        assert second is not None and second.fence > first.fence
        await client.aclose()

    run(main())


def test_a_paused_holder_cannot_release_or_extend_the_next_holders_lease(
    settings: Settings, redis_client: redis.Redis
) -> None:
    async def main() -> None:
        client, lock = await _lock(settings, ttl_ms=200)
        # Given a holder whose lease ran out while it was paused
        stale = await lock.acquire("agent01", "msg-old")
        assert stale is not None
        await asyncio.sleep(0.3)
        # and a new holder that took the lease since
        fresh = await lock.acquire("agent01", "msg-new")
        assert fresh is not None and fresh.fence > stale.fence
        # When the stale holder wakes up, then it can neither extend nor release
        assert not await lock.extend(stale)
        assert not await lock.release(stale)
        with pytest.raises(LockLost):
            await lock.check(stale)
        # and the new holder still holds the lease
        await lock.check(fresh)
        assert (await client.get("archibot:lock:agent01")).decode() == fresh.token
        assert fresh.token.startswith("msg-new:")
        await client.aclose()

    run(main())


def test_held_renews_the_lease_while_the_work_runs(settings: Settings, redis_client: redis.Redis) -> None:
    async def main() -> None:
        client, lock = await _lock(settings, ttl_ms=300)
        async with lock.held("agent01", "msg-1", "op-1") as lease:
            await asyncio.sleep(0.9)  # three leases long
            await lock.check(lease)
            with pytest.raises(AgentBusy):
                async with lock.held("agent01", "msg-2", "op-2"):
                    pass
        assert await client.get("archibot:lock:agent01") is None  # released at the end
        await client.aclose()

    run(main())


def test_checks_that_renew_the_lease_spare_the_renewers_round_trips(
    settings: Settings, redis_client: redis.Redis
) -> None:
    async def main() -> None:
        client, lock = await _lock(settings, ttl_ms=3_000)  # the renewer's interval: 1 s
        sent = 0
        extend = lock.extend

        async def counted(lease):  # type: ignore[no-untyped-def]
            nonlocal sent
            sent += 1
            return await extend(lease)

        lock.extend = counted  # type: ignore[method-assign]
        checks = 0
        async with lock.held("agent01", "msg-1", "op-1") as lease:
            # Given an operation that checks its lease every 50 ms for 2.5 s (2.5 intervals)
            for _ in range(50):
                await asyncio.sleep(0.05)
                await lock.check(lease)
                checks += 1
            # Then every renewal was a check's: the renewer sent none of its own
            assert sent == checks
            # When the checks stop, the renewer takes over an interval after the last one
            await asyncio.sleep(1.4)
            assert sent == checks + 1
        await client.aclose()

    run(main())


def test_a_dead_holder_blocks_its_agent_no_longer_than_the_lease(
    settings: Settings, redis_client: redis.Redis
) -> None:
    async def main() -> None:
        client, lock = await _lock(settings, ttl_ms=300)
        assert await lock.acquire("agent01", "msg-dead") is not None  # never released
        assert await lock.acquire("agent01", "msg-next") is None
        await asyncio.sleep(0.35)
        assert await lock.acquire("agent01", "msg-next") is not None
        await client.aclose()

    run(main())


def test_fences_stay_above_the_journals_after_redis_lost_them(settings: Settings, redis_client: redis.Redis) -> None:
    async def main() -> None:
        client, lock = await _lock(settings)
        first = await lock.acquire("agent01", "msg-1", fence_floor=0)
        assert first is not None and first.fence == 1
        await lock.release(first)
        # When Redis is flushed while the journal remembers fence 41
        await client.flushdb()
        after = await lock.acquire("agent01", "msg-2", fence_floor=41)
        assert after is not None and after.fence == 42
        await lock.release(after)
        assert (again := await lock.acquire("agent01", "msg-3", fence_floor=41)) is not None and again.fence == 43
        await client.aclose()

    run(main())
