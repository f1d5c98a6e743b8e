"""Simulator configuration: latency profiles, fault settings and the start options."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from erpsim.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8085
DEFAULT_SEED = 1
DEFAULT_AGENTS = 10
DEFAULT_CUSTOMERS_PER_AGENT = 200
DEFAULT_PRODUCTS = 3000
DEFAULT_ORDERS_PER_AGENT = 3
DEFAULT_SESSION_EXPIRY_S = 1500.0
DEFAULT_PAGE_SIZE = 20
DEFAULT_LOOKUP_PAGE_SIZE = 10
DEFAULT_ARTICLE_DROPDOWN_ROWS = 12
DEFAULT_PROFILE = "fast"
MAX_AGENTS = 999


@dataclass(frozen=True)
class LatencyProfile:
    """Latency ranges in milliseconds, drawn uniformly per request."""

    page_ms: tuple[float, float]
    callback_ms: tuple[float, float]
    update_edit_ms: tuple[float, float]
    update_edit_slow_rate: float
    update_edit_slow_ms: float
    vat_check_ms: tuple[float, float]


PROFILES: dict[str, LatencyProfile] = {
    "fast": LatencyProfile(
        page_ms=(2.0, 6.0),
        callback_ms=(2.0, 8.0),
        update_edit_ms=(15.0, 25.0),
        update_edit_slow_rate=0.0,
        update_edit_slow_ms=0.0,
        vat_check_ms=(2.0, 8.0),
    ),
    "realistic": LatencyProfile(
        page_ms=(150.0, 600.0),
        callback_ms=(250.0, 900.0),
        update_edit_ms=(5000.0, 7000.0),
        update_edit_slow_rate=0.05,
        update_edit_slow_ms=20000.0,
        vat_check_ms=(2400.0, 2800.0),
    ),
}


@dataclass
class Faults:
    """Fault injection settings; mutable at run time through `PUT /__sim/faults`."""

    seed: int = DEFAULT_SEED
    error_rate: float = 0.0
    lost_response_rate: float = 0.0
    session_expiry_s: float = DEFAULT_SESSION_EXPIRY_S
    slow_rate: float = 0.0
    slow_ms: float = 0.0
    latency_ms: float | None = None
    second_login_kicks: bool = False
    speed: float = 1.0
    #: An outage: every request but /__sim/ answers HTTP 503 for this many seconds from when
    #: it was set. Reads back as the seconds left.
    outage_s: float = 0.0
    #: When the outage ends (time.monotonic()); set through ``outage_s``, never directly.
    outage_until: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("outage_until")
        data["outage_s"] = round(self.outage_left_s(), 3)
        return data

    def outage_left_s(self) -> float:
        """Seconds left of the outage now in force (0 when there is none)."""
        return max(0.0, self.outage_until - time.monotonic())

    def update(self, values: dict[str, Any]) -> None:
        """Apply a partial update, validating names and ranges."""
        known = {f.name: f for f in dataclasses.fields(self) if f.name != "outage_until"}
        for name, value in values.items():
            if name not in known:
                raise ConfigError(f"unknown fault {name!r}; known: {sorted(known)}")
            setattr(self, name, _coerce(name, value))
            if name == "outage_s":
                self.outage_until = time.monotonic() + self.outage_s


def _coerce(name: str, value: Any) -> Any:
    if name == "seed":
        return int(value)
    if name == "second_login_kicks":
        return bool(value)
    if name == "latency_ms":
        return None if value is None else _non_negative(name, value)
    number = _non_negative(name, value)
    if name.endswith("_rate") and number > 1.0:
        raise ConfigError(f"fault {name} must be between 0 and 1, got {value!r}")
    if name == "speed" and number == 0:
        raise ConfigError("speed must be > 0")
    return number


def _non_negative(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"fault {name} must be a number, got {value!r}") from exc
    if number < 0:
        raise ConfigError(f"fault {name} must be >= 0, got {value!r}")
    return number


@dataclass(frozen=True)
class SimConfig:
    """Start options of one simulator process."""

    seed: int = DEFAULT_SEED
    agents: int = DEFAULT_AGENTS
    customers_per_agent: int = DEFAULT_CUSTOMERS_PER_AGENT
    products: int = DEFAULT_PRODUCTS
    orders_per_agent: int = DEFAULT_ORDERS_PER_AGENT
    profile: str = DEFAULT_PROFILE
    test_mode: bool = False
    admin_token: str | None = None
    state_file: str | None = None
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ConfigError(f"unknown profile {self.profile!r}; use one of {sorted(PROFILES)}")
        if not 1 <= self.agents <= MAX_AGENTS:
            raise ConfigError(f"agents must be between 1 and {MAX_AGENTS}, got {self.agents}")

    @property
    def latency(self) -> LatencyProfile:
        return PROFILES[self.profile]
