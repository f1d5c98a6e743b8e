"""Redis clients with timeouts: every command gives up instead of hanging on a dead server."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis

from archibot.settings import Settings

#: Connecting is quick or it is not happening.
DEFAULT_REDIS_CONNECT_TIMEOUT_S = 5
#: An idle pooled connection is pinged before use after this long (a restarted Redis).
DEFAULT_REDIS_HEALTH_CHECK_S = 15


def _redis_options(settings: Settings) -> dict[str, Any]:
    """Timeouts and health checks every Redis client of ours uses, blocking or asyncio."""
    return {
        "socket_timeout": settings.redis_timeout_s,
        "socket_connect_timeout": DEFAULT_REDIS_CONNECT_TIMEOUT_S,
        "socket_keepalive": True,
        "health_check_interval": DEFAULT_REDIS_HEALTH_CHECK_S,
    }


def sync_redis(settings: Settings) -> redis.Redis:
    """A blocking client (the broker's, the client's)."""
    return redis.Redis.from_url(settings.redis_url, **_redis_options(settings))


def async_redis(settings: Settings) -> aioredis.Redis:
    """An asyncio client (the agent lock's, the breaker's, the sweeper's)."""
    return aioredis.Redis.from_url(settings.redis_url, **_redis_options(settings))
