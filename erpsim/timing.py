"""Latency and fault decisions, deterministic for a given fault seed and request order."""

from __future__ import annotations

import asyncio
import random
import re
from enum import Enum

from erpsim.config import Delay, Faults, LatencyProfile

#: A saved record's detail view: `SALESTABLE_DetailViewAgent/72001/`, `CUSTTABLE_DetailView/5/`.
_DETAIL_PATH = re.compile(r"_DetailView(?:Agent)?/\d+/?$", re.IGNORECASE)
_LOGIN_PATH = re.compile(r"/Login\.aspx$", re.IGNORECASE)


class RequestKind(Enum):
    """What a request costs on the real server."""

    PAGE = "page"
    CALLBACK = "callback"
    UPDATE_EDIT = "update_edit"
    VAT_CHECK = "vat_check"
    PAYMENT_TERMS = "payment_terms"
    DETAIL_PAGE = "detail_page"
    LOGIN = "login"


def request_kind(method: str, path: str, control: str | None, command: str = "") -> RequestKind:
    """Classify a request: `control` is the callback's client name (None for no callback).

    Controls are told by the field in their name (`…_xaf_dviVATNUM_Edit`,
    `…_xaf_dviSALESLINEs_v12_…_LE_v12`), which survives the per-visit numbers in the ids.
    """
    if control is not None:
        if "dviSALESLINEs" in control and command == "UpdateEdit":
            return RequestKind.UPDATE_EDIT
        if "dviVATNUM" in control:
            return RequestKind.VAT_CHECK
        if "dviPAYMTERMID" in control and command != "FIND":
            # The form's callback after a payment term is picked (BOT:15188-15190), not the
            # button opening its FindPopup.
            return RequestKind.PAYMENT_TERMS
        return RequestKind.CALLBACK
    if method == "POST" and _LOGIN_PATH.search(path):
        return RequestKind.LOGIN
    if method == "GET" and _DETAIL_PATH.search(path):
        return RequestKind.DETAIL_PAGE
    return RequestKind.PAGE


class FaultEngine:
    """Draws latencies and faults from one seeded random stream."""

    def __init__(self, faults: Faults, profile: LatencyProfile) -> None:
        self.faults = faults
        self.profile = profile
        self.reseed()

    def reseed(self) -> None:
        self._rng = random.Random(self.faults.seed)

    def delay_of(self, kind: RequestKind) -> Delay:
        delay: Delay = getattr(self.profile, kind.value)
        return delay

    def latency_ms(self, kind: RequestKind) -> float:
        faults = self.faults
        if faults.latency_ms is not None:
            base = faults.latency_ms
        else:
            base = self._draw(self.delay_of(kind))
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

    def stuck_edit(self) -> bool:
        return self._chance(self.faults.stuck_edit_rate)

    def drop_line_on_save(self) -> bool:
        return self._chance(self.faults.drop_line_on_save_rate)

    def _draw(self, delay: Delay) -> float:
        if delay.tail_rate and self._chance(delay.tail_rate):
            return self._rng.uniform(*delay.tail_ms)
        if delay.mode_ms is None:
            return self._rng.uniform(delay.low_ms, delay.high_ms)
        return self._rng.triangular(delay.low_ms, delay.high_ms, delay.mode_ms)

    def _chance(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate
