"""A step run every tick on the worker's event loop: the sweeper's, the keep-alive's, the heartbeat's.

Every loop of a worker process has the same skeleton: wait a tick, do one step, log a
failure and carry on (Redis or PostgreSQL down: the next tick tries again), end when the
worker stops. Work that one process of all should do per period takes its turn first
(:func:`take_turn`, a Redis key set with NX and an expiry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("archibot.periodic")


async def take_turn(redis: Any, key: str, holder: str, for_s: float) -> bool:
    """True for the one process of all that takes ``key`` first in each period of ``for_s``."""
    return bool(await redis.set(key, holder, nx=True, px=max(1, int(for_s * 1000))))


@dataclass(frozen=True)
class Turn:
    """One process of all per period: the Redis key they share and this process's name."""

    redis: Any
    key: str
    holder: str
    #: The period; a little shorter than the tick, so each tick's taker is free to take it.
    for_s: float

    async def take(self) -> bool:
        """Whether this process does this period's step."""
        return await take_turn(self.redis, self.key, self.holder, self.for_s)


class Periodic:
    """Runs ``step`` every ``tick_s`` until ``stopping()`` says so (or :meth:`stop`).

    The first step runs after ``first_after_s`` (a tick unless given); a step is bounded by
    ``step_timeout_s`` (None: the step bounds its own calls). Failures are logged as
    ``{name}_failed`` and are never fatal.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[Any]],
        *,
        tick_s: float,
        stopping: Callable[[], bool],
        step_timeout_s: float | None,
        first_after_s: float | None = None,
        turn: Turn | None = None,
        logger: logging.Logger = log,
    ) -> None:
        self.name = name
        self.step = step
        self.tick_s = tick_s
        self.stopping = stopping
        self.step_timeout_s = step_timeout_s
        self.first_after_s = tick_s if first_after_s is None else first_after_s
        self.turn = turn
        self.log = logger
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop as a task of the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"archibot-{self.name}")

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end (a step in flight is cancelled)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def run(self) -> None:
        """Loop until the worker stops; errors are logged, never fatal."""
        await asyncio.sleep(self.first_after_s)
        while not self.stopping():
            try:
                if self.turn is None or await self.turn.take():
                    await asyncio.wait_for(self.step(), self.step_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (Redis or PostgreSQL down: the next tick tries again)
                self.log.warning("%s_failed error=%r", self.name, exc)
            await asyncio.sleep(self.tick_s)
