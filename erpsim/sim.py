"""The simulator's runtime: state, sessions, faults and counters shared by all handlers."""

from __future__ import annotations

import copy
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from erpsim.config import SimConfig
from erpsim.list_state import ListStateStore
from erpsim.login_limit import LoginLimiter
from erpsim.request_log import RequestLog
from erpsim.sessions import Session, SessionStore
from erpsim.state import SimState
from erpsim.timing import FaultEngine


@dataclass
class Counters:
    """What tests and benchmarks read from `GET /__sim/counters`."""

    requests: int = 0
    callbacks: int = 0
    logins: Counter[str] = field(default_factory=Counter)
    #: Login posts the server received, per posted user name, however they ended (accepted,
    #: wrong credentials, 403): what the ERP's operator can see and count.
    login_posts: Counter[str] = field(default_factory=Counter)
    overlaps: int = 0
    overlaps_by_agent: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    lost_responses: int = 0
    orders_saved: int = 0
    session_expiries: int = 0
    #: Requests answered 503 during an outage (fault ``outage_s``).
    outage_rejections: int = 0
    #: Pages answered 302 to another host (fault ``redirect_host``).
    moved_redirects: int = 0
    #: Login posts refused with 403: their address was past ``login_limit`` (per address).
    logins_refused: Counter[str] = field(default_factory=Counter)
    #: Requests that waited for an earlier request of their own session to be answered.
    session_waits: int = 0
    #: The most requests of one session ever served at once (1: the session lock held).
    session_max_active: int = 0
    #: Committed writes by kind: order_save, order_delete, order_send, customer_save.
    writes: Counter[str] = field(default_factory=Counter)
    #: SortBy callbacks on the list grids (a sync's sentinel sorts twice).
    sort_by: int = 0
    in_flight: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "callbacks": self.callbacks,
            "logins": dict(self.logins),
            "logins_total": sum(self.logins.values()),
            "login_posts": dict(self.login_posts),
            "overlaps": self.overlaps,
            "overlaps_by_agent": dict(self.overlaps_by_agent),
            "server_errors": self.server_errors,
            "lost_responses": self.lost_responses,
            "orders_saved": self.orders_saved,
            "session_expiries": self.session_expiries,
            "outage_rejections": self.outage_rejections,
            "moved_redirects": self.moved_redirects,
            "logins_refused": dict(self.logins_refused),
            "session_waits": self.session_waits,
            "session_max_active": self.session_max_active,
            "writes": dict(self.writes),
            "sort_by": self.sort_by,
        }


#: How many committed writes `GET /__sim/writes` keeps (the oldest go first): enough for a
#: test's or a bench's burst, bounded so a long-running sim does not grow without end.
WRITE_LOG_SIZE = 10_000


@dataclass(frozen=True)
class WriteRecord:
    """One committed write, as the ERP's operator could see it: when, who, what, from where.

    `peer` is the client address of the request: with workers on several hosts it tells
    which host clicked, so tests can show no host wrote after its lease could have passed.
    """

    at: float
    agent: str
    kind: str
    record: str
    peer: str

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "agent": self.agent, "kind": self.kind, "record": self.record, "peer": self.peer}


class Sim:
    """Everything one simulator process holds."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.initial_faults = copy.deepcopy(config.faults)
        self.faults = copy.deepcopy(config.faults)
        self.state = SimState(config)
        self.sessions = SessionStore()
        self.engine = FaultEngine(self.faults, config.latency)
        self.counters = Counters()
        #: Per-user list state (page size, page index, filter), kept across sessions.
        self.list_state = ListStateStore()
        #: Login attempts per client address (the operator's block, fault ``login_limit``).
        self.login_limiter = LoginLimiter()
        #: When each agent's requests were being answered (``GET /__sim/request-times``).
        self.request_log = RequestLog()
        #: The last WRITE_LOG_SIZE committed writes, oldest first (`GET /__sim/writes`).
        self.write_log: deque[WriteRecord] = deque(maxlen=WRITE_LOG_SIZE)

    def log_write(self, agent: str, kind: str, record: str, peer: str) -> None:
        """Record a committed write in the write log."""
        self.write_log.append(WriteRecord(time.time(), agent, kind, record, peer))

    def reset(self, seed: int | None, agents: int | None) -> None:
        """Reseed the data, drop sessions, restore the start faults, zero the counters and request times."""
        self.state.reseed(
            self.config.seed if seed is None else seed,
            len(self.state.agents) if agents is None else agents,
        )
        self.state.persist()
        self.sessions.clear()
        self.list_state.clear()
        self.login_limiter.clear()
        self.request_log.clear()
        restored = copy.deepcopy(self.initial_faults)
        self.faults.__dict__.update(restored.__dict__)
        self.engine.reseed()
        self.counters = Counters()
        self.write_log.clear()

    @property
    def admin_open(self) -> bool:
        return self.config.test_mode


SIM_KEY = web.AppKey("sim", Sim)


def sim_of(request: web.Request) -> Sim:
    return request.app[SIM_KEY]


def session_of(request: web.Request) -> Session:
    session: Session = request["session"]
    return session
