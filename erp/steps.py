"""Where an operation's time goes in the browser: named step spans, self time per name.

An attempt opens a :class:`StepTimings` with :func:`recording`; the ERP code marks its steps
with ``with step(NAVIGATION): …`` wherever it runs — no argument threaded through every call,
and outside a recording a step costs a clock read. Each millisecond counts once, for the
innermost step open at that time: the navigation inside a readback is navigation, the rest of
the readback (reading and comparing the page) is readback. The bench aggregates them per
operation type (archibot_devtools/erp_time.py); the operators' step timings can read the same.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

#: Loading a page: goto, a click that navigates, a login post.
NAVIGATION = "navigation"
#: Waiting for DevExpress callbacks and loading panels to end.
IDLE = "idle"
#: Typing into the ERP's inputs for real.
TYPING = "typing"
#: Reading a saved record back and comparing it with the request.
READBACK = "readback"

#: The field of an operation's journal result holding its last attempt's self ms per step.
RESULT_FIELD = "step_ms"

T = TypeVar("T")


class StepTimings:
    """Self time in ms per step name of one attempt."""

    def __init__(self) -> None:
        self.self_ms: defaultdict[str, float] = defaultdict(float)
        #: The open steps, innermost last: [name, started (perf_counter s), children's s].
        self._open: list[list[float | str]] = []

    @contextmanager
    def span(self, name: str) -> Iterator[None]:
        frame: list[float | str] = [name, time.perf_counter(), 0.0]
        self._open.append(frame)
        try:
            yield
        finally:
            self._open.remove(frame)
            elapsed_s = time.perf_counter() - float(frame[1])
            self.self_ms[name] += (elapsed_s - float(frame[2])) * 1000
            if self._open:
                self._open[-1][2] = float(self._open[-1][2]) + elapsed_s

    def to_json(self) -> dict[str, int]:
        return {name: round(ms) for name, ms in sorted(self.self_ms.items())}


_CURRENT: ContextVar[StepTimings | None] = ContextVar("erp_step_timings", default=None)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Count the time inside as ``name`` in the attempt's recording (nothing without one)."""
    timings = _CURRENT.get()
    if timings is None:
        yield
        return
    with timings.span(name):
        yield


async def recording(timings: StepTimings, work: Awaitable[T]) -> T:
    """Await ``work`` with its steps counted into ``timings``."""
    token = _CURRENT.set(timings)
    try:
        return await work
    finally:
        _CURRENT.reset(token)
