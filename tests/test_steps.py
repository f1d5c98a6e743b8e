"""Step spans (erp/steps.py): self time per name, each moment counted once, on a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

from erp import steps


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def test_an_inner_step_is_not_counted_again_in_the_outer(monkeypatch: Any) -> None:
    clock = FakeClock()
    monkeypatch.setattr(steps.time, "perf_counter", clock)
    timings = steps.StepTimings()

    async def work() -> str:
        with steps.step(steps.READBACK):
            clock.now_s += 1.0
            with steps.step(steps.NAVIGATION):
                clock.now_s += 2.0
            clock.now_s += 0.5
        with steps.step(steps.NAVIGATION):
            clock.now_s += 0.25
        return "done"

    assert asyncio.run(steps.recording(timings, work())) == "done"
    assert timings.to_json() == {"navigation": 2250, "readback": 1500}


def test_steps_outside_a_recording_count_nowhere() -> None:
    timings = steps.StepTimings()
    with steps.step(steps.IDLE):
        pass
    assert timings.to_json() == {}
