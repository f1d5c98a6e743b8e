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


def test_checks_ask_redis_only_once_the_last_confirmation_is_a_third_of_a_lease_old(
    settings: Settings, redis_client: redis.Redis
) -> None:
    async def main() -> None:
        client, lock = await _lock(settings, ttl_ms=3_000)  # a third of it: 1 s
        sent = 0
        extend = lock.extend

        async def counted(lease):  # type: ignore[no-untyped-def]
            nonlocal sent
            sent += 1
            return await extend(lease)

        lock.extend = counted  # type: ignore[method-assign]
        async with lock.held("agent01", "msg-1", "op-1") as lease:
            # Given an operation that checks its lease every 50 ms for 2.5 s (50 checks)
            for _ in range(50):
                await asyncio.sleep(0.05)
                await lock.check(lease)
            # Then Redis was asked about once a second (checks and renewer together), not 50 times
            assert 1 <= sent <= 4
            # And a lease lost in Redis is noticed by the first check a third of a TTL after
            # the last confirmation
            await client.delete(lock._key("agent01"))
            await asyncio.sleep(1.05)
            with pytest.raises(LockLost):
                await lock.check(lease)
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


def test_a_check_after_a_slow_step_asks_redis_again_and_stops_a_holder_cut_off(
    settings: Settings, redis_client: redis.Redis
) -> None:
    # A holder whose journal write before the click outlasted a third of the lease (the check
    # before it is stale by then) must not click on a lease that may have passed on.
    async def main() -> None:
        client, lock = await _lock(settings, ttl_ms=600)
        lease = await lock.acquire("agent01", "msg-1")
        assert lease is not None
        await lock.check(lease)  # fresh: passes without asking
        await client.delete(lock._key("agent01"))  # meanwhile the lease is gone from Redis
        await asyncio.sleep(0.25)  # the slow step: more than a third of the lease
        with pytest.raises(LockLost):
            await lock.check(lease)
        await client.aclose()

    run(main())
