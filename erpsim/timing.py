"""Latency and fault decisions, deterministic for a given fault seed and request order."""

from __future__ import annotations

import asyncio
import random
from enum import Enum

from erpsim.config import Faults, LatencyProfile


class RequestKind(Enum):
    """What a request costs on the real server."""

    PAGE = "page"
    CALLBACK = "callback"
    UPDATE_EDIT = "update_edit"
    VAT_CHECK = "vat_check"


class FaultEngine:
    """Draws latencies and faults from one seeded random stream."""

    def __init__(self, faults: Faults, profile: LatencyProfile) -> None:
        self.faults = faults
        self.profile = profile
        self.reseed()

    def reseed(self) -> None:
        self._rng = random.Random(self.faults.seed)

    def latency_ms(self, kind: RequestKind) -> float:
        faults = self.faults
        if faults.latency_ms is not None:
            base = faults.latency_ms
        elif kind is RequestKind.PAGE:
            base = self._rng.uniform(*self.profile.page_ms)
        elif kind is RequestKind.CALLBACK:
            base = self._rng.uniform(*self.profile.callback_ms)
        elif kind is RequestKind.VAT_CHECK:
            base = self._rng.uniform(*self.profile.vat_check_ms)
        else:
            base = self._rng.uniform(*self.profile.update_edit_ms)
            if self.profile.update_edit_slow_rate and self._chance(
                self.profile.update_edit_slow_rate
            ):
                base = self.profile.update_edit_slow_ms
        if faults.slow_rate and self._chance(faults.slow_rate):
            base += faults.slow_ms
        return base / faults.speed

    async def sleep(self, kind: RequestKind) -> None:
        delay_ms = self.latency_ms(kind)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000.0)

    def server_error(self) -> bool:
        return self._chance(self.faults.error_rate)

    def lost_response(self) -> bool:
        return self._chance(self.faults.lost_response_rate)

    def _chance(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate
