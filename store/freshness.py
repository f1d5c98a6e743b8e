"""What the freshness scheduler reads, and what it decides: which caches are too old.

:meth:`Freshness.snapshot` reads, in three statements on the database's clock, how long ago
each agent's last fresh look at each list was — a complete walk or a "skipped: unchanged"
check (``sync_state``), else the newest ``done`` sync of that type in the journal (a fresh
deployment, or a sync runner that does not write ``sync_state`` yet) — plus what is pending
and who wrote something lately. :func:`plan` is pure: given that snapshot and a
:class:`Policy` (the targets, the cap), the syncs to send now, most overdue first.

Why a cap: a background sync holds a worker slot and an agent's lease for minutes; a write
arriving then waits for a slot. Every sync queued or running counts against it — one backing
off after a transient error too (it runs again within minutes) — but one that waits for a
login budget (``progress.waiting``; hours, maybe) holds no worker and does not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from store.cache import EVERYONE
from store.db import Database
from store.rows import PENDING_SQL, sql_list
from store.states import Status

#: The ended statuses that are not a fresh look: the scheduler backs off after one.
_UNSUCCESSFUL_SQL = sql_list((Status.FAILED, Status.CANCELLED))
_DONE_SQL = f"'{Status.DONE.value}'"


@dataclass(frozen=True)
class Target:
    """How old a list's cache may get (s): for an agent active lately, and for one idle."""

    active_s: float
    idle_s: float

    def for_agent(self, active: bool) -> float:
        """The target that applies to an agent active (or not)."""
        return self.active_s if active else self.idle_s


@dataclass(frozen=True)
class Policy:
    """The scheduler's rules: a target per sync type, the shared types, the cap."""

    #: Sync type → its target.
    targets: Mapping[str, Target]
    #: Types whose data is the same for everyone (the catalogue): one fresh sync for all.
    shared: frozenset[str]
    #: An agent with a write created this recently (s) is active.
    active_window_s: float
    #: Background syncs queued or running at once, across every agent (see the module docstring).
    cap: int

    @property
    def per_agent(self) -> tuple[str, ...]:
        """The types each agent has a list of."""
        return tuple(t for t in self.targets if t not in self.shared)

    @property
    def horizon_s(self) -> float:
        """How far back the journal is read: an older sync makes nothing fresh."""
        return 2 * max([self.active_window_s, *(t.idle_s for t in self.targets.values())])


@dataclass(frozen=True)
class AgentView:
    """One agent as the scheduler sees it."""

    agent: str
    #: A write created within the active window.
    active: bool
    #: A write queued or running: no background sync is sent for them now.
    write_pending: bool
    #: Their login was refused (the breaker is open until their password changes).
    login_refused: bool
    #: Sync type → seconds since the last fresh look (None: none within the horizon).
    age_s: Mapping[str, float | None] = field(default_factory=dict)
    #: Sync type → seconds since the newest failed or cancelled sync (None: none).
    failed_ago_s: Mapping[str, float | None] = field(default_factory=dict)
    #: Sync types queued or running for them.
    pending: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Snapshot:
    """Every agent with credentials, and the background syncs in flight."""

    agents: Sequence[AgentView]
    #: Background syncs queued or running, but those waiting for a login budget.
    in_flight: int


@dataclass(frozen=True)
class Due:
    """A sync to send: whose, which type, how far past its target (inf: never synced)."""

    agent: str
    op_type: str
    overdue_s: float
    target_s: float


@dataclass(frozen=True)
class Plan:
    """What one tick decided."""

    send: list[Due]
    #: Stale, but the cap is reached: the next tick looks again.
    deferred: list[Due]
    #: Agents left alone because a write of theirs is pending.
    busy: list[str]


class Freshness:
    """Reads the freshness of every agent's caches (``sync_state``, ``operations``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def snapshot(self, policy: Policy) -> Snapshot:
        """The state :func:`plan` decides on, read now."""
        types = list(policy.targets)
        with self._db.connection() as conn:
            looks = conn.execute(
                "SELECT a.agent, t.op_type,"
                " extract(epoch FROM now() - GREATEST(s.seen, d.finished_at))::float8 AS age_s,"
                " extract(epoch FROM now() - f.finished_at)::float8 AS failed_ago_s"
                " FROM agents a CROSS JOIN unnest(%(types)s::text[]) AS t(op_type)"
                # A shared list's state is kept for everyone (store.cache.EVERYONE).
                " LEFT JOIN LATERAL (SELECT max(GREATEST(s.last_complete, s.last_skipped)) AS seen"
                "  FROM sync_state s WHERE s.op_type = t.op_type"
                "   AND s.agent IN (a.agent, %(everyone)s)) s ON true"
                # The fallback: the newest done sync (operations_agent_created serves both).
                " LEFT JOIN LATERAL (SELECT o.finished_at FROM operations o"
                f"  WHERE o.agent = a.agent AND o.op_type = t.op_type AND o.status = {_DONE_SQL}"
                "   AND o.created_at > now() - %(horizon)s * interval '1 second'"
                "  ORDER BY o.created_at DESC LIMIT 1) d ON true"
                " LEFT JOIN LATERAL (SELECT o.finished_at FROM operations o"
                "  WHERE o.agent = a.agent AND o.op_type = t.op_type"
                f"   AND o.status IN {_UNSUCCESSFUL_SQL}"
                "   AND o.created_at > now() - %(horizon)s * interval '1 second'"
                "  ORDER BY o.created_at DESC LIMIT 1) f ON true",
                {"types": types, "horizon": policy.horizon_s, "everyone": EVERYONE},
            ).fetchall()
            agents = conn.execute(
                "SELECT a.agent, a.login_rejected_at IS NOT NULL AS login_refused,"
                " EXISTS (SELECT 1 FROM operations o WHERE o.agent = a.agent AND o.is_write"
                "   AND o.created_at > now() - %s * interval '1 second') AS active"
                " FROM agents a ORDER BY a.agent",
                (policy.active_window_s,),
            ).fetchall()
            pending = conn.execute(
                "SELECT agent, op_type, is_write,"
                f" (status = '{Status.RUNNING.value}'"
                "  OR NOT coalesce(progress ? 'waiting', false)) AS due"
                f" FROM operations WHERE status IN {PENDING_SQL}"
            ).fetchall()
        ages: dict[str, dict[str, float | None]] = {}
        failures: dict[str, dict[str, float | None]] = {}
        for row in looks:
            ages.setdefault(row["agent"], {})[row["op_type"]] = row["age_s"]
            failures.setdefault(row["agent"], {})[row["op_type"]] = row["failed_ago_s"]
        writes = {r["agent"] for r in pending if r["is_write"]}
        syncs: dict[str, set[str]] = {}
        in_flight = 0
        for r in pending:
            if not r["is_write"] and r["op_type"] in policy.targets:
                syncs.setdefault(r["agent"], set()).add(r["op_type"])
                in_flight += int(r["due"])
        views = [
            AgentView(
                agent=r["agent"], active=bool(r["active"]), write_pending=r["agent"] in writes,
                login_refused=bool(r["login_refused"]), age_s=ages.get(r["agent"], {}),
                failed_ago_s=failures.get(r["agent"], {}),
                pending=frozenset(syncs.get(r["agent"], ())),
            )
            for r in agents
        ]
        return Snapshot(views, in_flight)


def plan(snapshot: Snapshot, policy: Policy) -> Plan:
    """The syncs to send now: each stale list with none pending, most overdue first, no more
    than the cap leaves room for. A list is stale when its last fresh look is older than its
    target and no sync of it failed since within a target (a failing list waits a target
    before it is tried again, so it never takes every slot of the cap)."""
    due: list[Due] = []
    busy = sorted(v.agent for v in snapshot.agents if v.write_pending)
    free = [v for v in snapshot.agents if not v.write_pending and not v.login_refused]
    for view in free:
        for op_type in policy.per_agent:
            if op_type in view.pending:
                continue
            target = policy.targets[op_type].for_agent(view.active)
            stale = _overdue(view.age_s.get(op_type), view.failed_ago_s.get(op_type), target)
            if stale is not None:
                due.append(Due(view.agent, op_type, stale, target))
    for op_type in sorted(policy.shared & set(policy.targets)):
        if any(op_type in v.pending for v in snapshot.agents) or not free:
            continue
        target = policy.targets[op_type].idle_s
        stale = _overdue(_newest(v.age_s.get(op_type) for v in snapshot.agents),
                         _newest(v.failed_ago_s.get(op_type) for v in snapshot.agents), target)
        if stale is not None:
            # An idle agent's session is the least likely to be wanted by a write soon.
            agent = min(free, key=lambda v: (v.active, v.agent)).agent
            due.append(Due(agent, op_type, stale, target))
    # Ties (never synced, at a first deployment): the tightest target first, then the
    # registry's order of types, so that every agent's orders come before anyone's invoices.
    order = {op_type: i for i, op_type in enumerate(policy.targets)}
    due.sort(key=lambda d: (-d.overdue_s, d.target_s, order[d.op_type], d.agent))
    room = max(0, policy.cap - snapshot.in_flight)
    return Plan(send=due[:room], deferred=due[room:], busy=busy)


def _overdue(age_s: float | None, failed_ago_s: float | None, target_s: float) -> float | None:
    """How far past its target a list is (inf: never looked at); None if it is not stale."""
    if age_s is not None and age_s < target_s:
        return None
    if failed_ago_s is not None and failed_ago_s < target_s and (age_s is None or failed_ago_s < age_s):
        return None
    return math.inf if age_s is None else age_s - target_s


def _newest(ages: Iterable[float | None]) -> float | None:
    """The smallest of the ages that are known (the newest look), None if none is."""
    known = [a for a in ages if a is not None]
    return min(known) if known else None
