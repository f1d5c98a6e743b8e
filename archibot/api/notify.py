"""One ``LISTEN archibot_ops`` connection per API process, fanned out to subscribers.

The journal's trigger NOTIFYs every change of an operation's status, phase or
progress as ``{"id", "agent", "status"}``; the SSE streams, the dashboard and the
webhook deliverer subscribe here instead of polling. After a lost connection the hub
reconnects and sends every subscriber a ``resync`` event, so none misses a change.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import psycopg

from archibot.backoff import compute_backoff_ms

log = logging.getLogger("archibot.api.notify")

CHANNEL = "archibot_ops"
#: How many events a slow subscriber may lag behind before older ones are dropped.
DEFAULT_SUBSCRIBER_BUFFER = 256
DEFAULT_READY_TIMEOUT_S = 10.0

Event = dict[str, Any]


class Hub:
    """Subscriptions to operation changes: one operation's, or all of them."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._by_op: dict[str, set[asyncio.Queue[Event]]] = {}
        self._all: set[asyncio.Queue[Event]] = set()
        self._callbacks: list[Callable[[Event], None]] = []
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        """Connect and LISTEN; returns once listening (or raises after a timeout)."""
        self._task = asyncio.create_task(self._run(), name="archibot-listen")
        await asyncio.wait_for(self.listening.wait(), DEFAULT_READY_TIMEOUT_S)

    async def stop(self) -> None:
        """Close the listening connection."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def subscribe(self, op_id: str | None = None) -> asyncio.Queue[Event]:
        """A queue of the changes of ``op_id`` (all operations when None)."""
        queue: asyncio.Queue[Event] = asyncio.Queue(DEFAULT_SUBSCRIBER_BUFFER)
        if op_id is None:
            self._all.add(queue)
        else:
            self._by_op.setdefault(op_id, set()).add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event], op_id: str | None = None) -> None:
        """Stop delivering to ``queue``."""
        if op_id is None:
            self._all.discard(queue)
            return
        queues = self._by_op.get(op_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._by_op[op_id]

    def on_event(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback`` (on the event loop; it must not block) for every change."""
        self._callbacks.append(callback)

    def _dispatch(self, event: Event) -> None:
        targets = list(self._all)
        if event.get("id") is None:  # resync: everyone
            for queues in self._by_op.values():
                targets.extend(queues)
        else:
            targets.extend(self._by_op.get(str(event["id"]), ()))
        for queue in targets:
            if queue.full():
                queue.get_nowait()  # a stalled reader loses its oldest event, not the newest
            queue.put_nowait(event)
        for callback in self._callbacks:
            callback(event)

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if failures:
                        self._dispatch({"id": None, "status": "resync"})
                    failures = 0
                    self.listening.set()
                    async for note in conn.notifies():
                        try:
                            self._dispatch(json.loads(note.payload))
                        except ValueError:
                            log.warning("notify_unreadable payload=%r", note.payload)
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:  # a lost connection: reconnect with backoff
                self.listening.clear()
                delay_ms = compute_backoff_ms(failures, base_ms=500, max_ms=10_000)
                failures += 1
                log.warning("listen_failed error=%s retry_ms=%d", exc, delay_ms)
                await asyncio.sleep(delay_ms / 1000)
