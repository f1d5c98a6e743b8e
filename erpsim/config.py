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
#: Login attempts one client address may make per window before the ERP refuses it (0: no
#: limit). The real operator blocked the original bot at 48-150 logins a day (FACTS §1).
DEFAULT_LOGIN_LIMIT = 0
DEFAULT_LOGIN_WINDOW_S = 86_400.0
DEFAULT_PAGE_SIZE = 20
DEFAULT_LOOKUP_PAGE_SIZE = 10
DEFAULT_ARTICLE_DROPDOWN_ROWS = 12
DEFAULT_PROFILE = "fast"
MAX_AGENTS = 999


@dataclass(frozen=True)
class Delay:
    """The latency of one kind of request, in milliseconds.

    Most draws are triangular between `low_ms` and `high_ms` peaking at `mode_ms` (uniform
    when `mode_ms` is None); with probability `tail_rate` a draw comes instead uniformly from
    `tail_ms`, the rare slow answers the real server gives.
    """

    low_ms: float
    high_ms: float
    mode_ms: float | None = None
    tail_rate: float = 0.0
    tail_ms: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class LatencyProfile:
    """The latency of each kind of request (see erpsim.timing.RequestKind)."""

    #: A page GET (a chained navigation inside the application).
    page: Delay
    #: A grid/list callback (paging, page size, filter, lookup search).
    callback: Delay
    #: The order lines grid's UpdateEdit (saving one line).
    update_edit: Delay
    #: The VAT number check after leaving VATNUM.
    vat_check: Delay
    #: The payment-terms (PAYMTERMID) lookup callback.
    payment_terms: Delay
    #: A GET of a saved record's detail view (the readback after a save).
    detail_page: Delay
    #: The login POST (then Default.aspx loads as a page: a cold login is both).
    login: Delay


#: The realistic profile, calibrated to FACTS.md §10 (../shared/erp-real/FACTS.md):
#:
#: | kind | draws | FACTS |
#: | --- | --- | --- |
#: | callback | 250–900 ms, peak 350, mean 500 | list callback 251–880 ms, avg ~500 (HTTP:91) |
#: | update_edit | 5–7 s; 3 % 20–30 s | UpdateEdit 5–7 s, >20 s possible (BOT:5971-5974) |
#: | vat_check | 2.6–4 s, peak 2.8; 20 % 20–28 s | VAT 2.6 s (BOT:15833) vs 20–28 s in a probe |
#: | payment_terms | 10–15 s | PAYMTERMID callback 10–15 s (BOT:15188-15190) |
#: | detail_page | 10–15 s | detail readback ~10–15 s (c:b0356a6d; SUB:740) |
#: | page | 2–4.5 s, peak 2.5, mean 3 s | chained navigation ~3 s (UNI:476) |
#: | login | 13–25.5 s, + Default.aspx page = 15–30 s | cold login + nav ~15–30 s (UNI:476) |
REALISTIC = LatencyProfile(
    page=Delay(2000.0, 4500.0, mode_ms=2500.0),
    callback=Delay(250.0, 900.0, mode_ms=350.0),
    update_edit=Delay(5000.0, 7000.0, tail_rate=0.03, tail_ms=(20000.0, 30000.0)),
    vat_check=Delay(2600.0, 4000.0, mode_ms=2800.0, tail_rate=0.2, tail_ms=(20000.0, 28000.0)),
    payment_terms=Delay(10000.0, 15000.0),
    detail_page=Delay(10000.0, 15000.0),
    login=Delay(13000.0, 25500.0),
)

#: A few milliseconds everywhere: what the tests run against.
FAST = LatencyProfile(
    page=Delay(2.0, 6.0),
    callback=Delay(2.0, 8.0),
    update_edit=Delay(15.0, 25.0),
    vat_check=Delay(2.0, 8.0),
    payment_terms=Delay(2.0, 8.0),
    detail_page=Delay(2.0, 6.0),
    login=Delay(2.0, 6.0),
)

PROFILES: dict[str, LatencyProfile] = {"fast": FAST, "realistic": REALISTIC}


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
    #: Login attempts per client address per ``login_window_s`` before logins answer 403.
    login_limit: int = DEFAULT_LOGIN_LIMIT
    login_window_s: float = DEFAULT_LOGIN_WINDOW_S
    speed: float = 1.0
    #: An outage: every request but /__sim/ answers HTTP 503 for this many seconds from when
    #: it was set. Reads back as the seconds left.
    outage_s: float = 0.0
    #: When the outage ends (time.monotonic()); set through ``outage_s``, never directly.
    outage_until: float = 0.0
    #: A line's UpdateEdit commits but leaves the grid editing (InCallback false, IsEditing
    #: true); AddNewRow then freezes the page's JavaScript (FACTS §9, §11). Off by default.
    stuck_edit_rate: float = 0.0
    #: "Salva e chiudi" stores the order without its last line: a write the bot must catch by
    #: reading the order back (issue 8 item 7). Off by default.
    drop_line_on_save_rate: float = 0.0
    #: The ERP moved (FACTS §13: from an IP to a domain name): every page answers 302 to the
    #: same URL on this host (same scheme and port), as an old address sends its users on to
    #: the new one. Empty: off.
    redirect_host: str = ""

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
    if name == "login_limit":
        return int(_non_negative(name, value))
    if name == "second_login_kicks":
        return bool(value)
    if name == "redirect_host":
        return str(value or "")
    if name == "latency_ms":
        return None if value is None else _non_negative(name, value)
    number = _non_negative(name, value)
    if name.endswith("_rate") and number > 1.0:
        raise ConfigError(f"fault {name} must be between 0 and 1, got {value!r}")
    if name in ("speed", "login_window_s") and number == 0:
        raise ConfigError(f"{name} must be > 0")
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
