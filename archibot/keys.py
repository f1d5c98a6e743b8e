"""The Redis key names that more than one layer reads: the agent lease and worker heartbeats.

The actors write them; the API reads them without importing the actors.
"""

from __future__ import annotations

LOCK_PREFIX = "archibot:lock:"
FENCE_PREFIX = "archibot:fence:"
HEARTBEAT_PREFIX = "archibot:heartbeat:"


def lock_key(agent: str) -> str:
    """The key of the agent's lease: it exists while some worker runs the agent's work."""
    return LOCK_PREFIX + agent


def heartbeat_key(host: str, pid: int) -> str:
    """The key a worker process refreshes while it is alive (a JSON body, with a TTL)."""
    return f"{HEARTBEAT_PREFIX}{host}:{pid}"
