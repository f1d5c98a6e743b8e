"""Server-Sent Events: an operation's status and progress, pushed until it ends.

The stream subscribes to the hub first and reads the row second, so no change falls
between the two; each notification re-reads the row and sends it when it changed.
A comment line every ``DEFAULT_KEEPALIVE_S`` keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from archibot.api.notify import Hub
from store.states import TERMINAL

DEFAULT_KEEPALIVE_S = 15.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def format_event(event: str, data: Any, event_id: str | None = None) -> str:
    """One SSE message."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def operation_stream(
    request: Request, hub: Hub, op_id: str, read: Callable[[str], dict[str, Any] | None]
) -> AsyncIterator[str]:
    """``status`` events with the whole operation, the last one terminal; then the stream ends."""
    queue = hub.subscribe(op_id)
    try:
        last: dict[str, Any] | None = None
        while True:
            current = await run_in_threadpool(read, op_id)
            if current is None:
                return
            if current != last:
                last = current
                yield format_event("status", current)
            if current["status"] in TERMINAL:
                return
            if await _wait(request, queue) is None:
                yield ": keep-alive\n\n"
    finally:
        hub.unsubscribe(queue, op_id)


async def all_changes_stream(request: Request, hub: Hub) -> AsyncIterator[str]:
    """``change`` events ``{"id", "agent", "status"}`` for every operation, for the dashboard."""
    queue = hub.subscribe(None)
    try:
        yield ": connected\n\n"
        while not await request.is_disconnected():
            event = await _wait(request, queue)
            yield ": keep-alive\n\n" if event is None else format_event("change", event)
    finally:
        hub.unsubscribe(queue, None)


async def _wait(request: Request, queue: asyncio.Queue[dict[str, Any]]) -> dict[str, Any] | None:
    """The next event, or None after the keep-alive interval."""
    try:
        return await asyncio.wait_for(queue.get(), DEFAULT_KEEPALIVE_S)
    except TimeoutError:
        return None
