"""The worker processes' heartbeats as readers see them: ``/metrics``, ``/readyz``, the sweep.

Each worker process keeps ``archibot:heartbeat:{host}:{pid}`` alive in Redis
(actors/heartbeat.py); a dead worker's key expires. Reading them all is one SCAN and one
MGET — per call, not per agent.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from archibot.keys import HEARTBEAT_PREFIX

log = logging.getLogger("archibot.heartbeats")


def read_heartbeats(client: redis.Redis) -> list[dict[str, Any]]:
    """Every live worker heartbeat (the keys expire when a worker stops beating)."""
    keys = list(client.scan_iter(match=HEARTBEAT_PREFIX + "*", count=500))
    if not keys:
        return []
    beats = []
    for raw in client.mget(keys):
        if raw is None:
            continue
        try:
            beats.append(json.loads(raw))
        except ValueError:
            log.warning("heartbeat_unreadable value=%r", raw[:100])
    return beats


def worker_slots(beats: list[dict[str, Any]], default_per_worker: int) -> int:
    """How many operations the live workers can run at once: each heartbeat's ``slots`` (its
    threads, at most its browser's contexts), ``default_per_worker`` for one that lacks it."""
    return sum(int(beat.get("slots", default_per_worker)) for beat in beats)
