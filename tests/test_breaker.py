"""The ERP breaker's open/closed state: shared in Redis, read at most once a second per process."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis

import actors.breaker as breaker_module
from actors.breaker import ErpBreaker
from archibot.keys import ERP_ERRORS_KEY, ERP_OPEN_KEY
from archibot.settings import Settings


class _Calls:
    n = 0


def _counted(client: aioredis.Redis, command: str) -> _Calls:
    """Count the calls of ``client.<command>`` (which still runs)."""
    calls = _Calls()
    real = getattr(client, command)

    async def counted(*keys):  # type: ignore[no-untyped-def]
        calls.n += 1
        return await real(*keys)

    setattr(client, command, counted)
    return calls


def test_an_open_breaker_reaches_every_process_within_the_reuse_time_and_costs_one_read(
    settings: Settings, redis_client: redis.Redis, monkeypatch
) -> None:
    monkeypatch.setattr(breaker_module, "DEFAULT_STATE_REUSE_S", 0.3)

    async def main() -> None:
        client = aioredis.Redis.from_url(settings.redis_url)
        reads = _counted(client, "mget")
        breaker = ErpBreaker(client, erp_url="http://127.0.0.1:9/", threshold=3)
        # Given a closed breaker asked before every claim: one read serves many claims
        assert [await breaker.is_open() for _ in range(20)] == [False] * 20
        assert reads.n == 1
        # When another process opens it, this one learns it once its reading is old
        redis_client.set(ERP_OPEN_KEY, '{"since": 0, "probes": 0}')
        await asyncio.sleep(0.35)
        assert await breaker.is_open()
        assert reads.n == 2
        # And its own probe that finds the key gone knows the breaker closed at once
        redis_client.delete(ERP_OPEN_KEY)
        assert not await breaker.probe()
        assert not await breaker.is_open()
        assert reads.n == 2
        await client.aclose()

    asyncio.run(main())


def test_a_success_clears_a_streak_it_knows_of_and_costs_nothing_when_there_is_none(
    settings: Settings, redis_client: redis.Redis, monkeypatch
) -> None:
    monkeypatch.setattr(breaker_module, "DEFAULT_STATE_REUSE_S", 0.3)

    async def main() -> None:
        client = aioredis.Redis.from_url(settings.redis_url)
        deletes = _counted(client, "delete")
        breaker = ErpBreaker(client, erp_url="http://127.0.0.1:9/", threshold=3)
        # Given a process whose reading saw no streak, successes cost no command
        assert not await breaker.is_open()
        for _ in range(5):
            await breaker.success()
        assert deletes.n == 0
        # When it counts an error itself, its next success ends the streak
        assert not await breaker.transport_error("agent01", "timeout")
        await breaker.success()
        assert deletes.n == 1 and redis_client.get(ERP_ERRORS_KEY) is None
        # And a streak another process began is ended by its first success after a reading
        redis_client.set(ERP_ERRORS_KEY, 2)
        await asyncio.sleep(0.35)
        assert not await breaker.is_open()
        await breaker.success()
        assert deletes.n == 2 and redis_client.get(ERP_ERRORS_KEY) is None
        await client.aclose()

    asyncio.run(main())
