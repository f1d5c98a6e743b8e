"""Each worker process says it is alive: ``archibot:heartbeat:{host}:{pid}`` in Redis, with a TTL.

The body carries what the API's ``/metrics`` and ``/readyz`` need from this process
(browser contexts, the worker's and its Chromium's RSS), so those are right across
processes and hosts without any in-process counter. A dead worker's key expires.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from typing import Any

import dramatiq
import redis
from dramatiq.middleware import Middleware

from actors import worker
from archibot.keys import heartbeat_key
from pool import procstat

log = logging.getLogger("archibot.heartbeat")


class Heartbeat(Middleware):
    """Refreshes this worker's heartbeat key every third of ``ttl_s`` from a daemon thread."""

    def __init__(self, redis_url: str, ttl_s: int) -> None:
        self.redis_url = redis_url
        self.ttl_s = ttl_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._key = ""

    def after_worker_boot(self, broker: dramatiq.Broker, worker_: Any) -> None:
        self._key = heartbeat_key(socket.gethostname(), os.getpid())
        self._thread = threading.Thread(target=self._beat, name="archibot-heartbeat", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker_: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        try:
            redis.Redis.from_url(self.redis_url, socket_timeout=2).delete(self._key)
        except redis.RedisError:
            pass  # it expires anyway

    def _beat(self) -> None:
        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        started = time.time()
        while not self._stop.is_set():
            try:
                client.set(self._key, json.dumps(self._body(started)), ex=self.ttl_s)
            except redis.RedisError as exc:
                log.warning("heartbeat_failed error=%s", exc)
            self._stop.wait(self.ttl_s / 3)
        client.close()

    def _body(self, started: float) -> dict[str, Any]:
        body: dict[str, Any] = {
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": started,
            "at": time.time(),
            "worker_rss_bytes": procstat.rss_bytes([os.getpid()]),
        }
        try:
            context = worker.current()
        except RuntimeError:
            return body
        stats = context.pool.stats()
        body.update(
            contexts_open=stats.get("contexts_open", 0),
            contexts_in_use=stats.get("contexts_in_use", 0),
            browser_launches=stats.get("launches", 0),
            browser_recycles=stats.get("recycles", 0),
            chromium_rss_bytes=procstat.rss_bytes(context.pool.pids),
        )
        return body
