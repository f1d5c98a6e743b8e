"""``archibot bench --day``: a simulated working day, compressed, under the freshness scheduler.

It starts a private stack as the bench does (simulator, Redis, a fresh journal, worker
processes) and plays one working day of ``--hours`` ERP hours in ``hours / --speedup`` of
wall time: every time constant that is about the day is divided by the speedup — the
freshness targets and the active window (``ARCHIBOT_FRESHNESS_SPEEDUP``), the keep-alive
and the login window (settings), the ERP's session expiry (the simulator's clock, a fault).
The day tool is the one scheduler: it calls the freshness tick (actors.schedule.keep_fresh)
every ``--tick-s`` of wall time, as periodiq's minute would.

The workload: each agent sends a few orders and one customer change at random times;
now and then someone in the office adds a delivery note or an invoice, or changes a
customer (the simulator's ``/__sim/documents`` and ``/__sim/customers/{id}``: skipped,
and counted, where the simulator has no such route).

It prints one JSON object: ERP requests and logins per agent per day, syncs sent per type
(done, failed — a type the workers cannot run yet fails without stopping the day), syncs
skipped as unchanged, the most background syncs at once, how long writes waited to start,
and how stale each list got. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import statistics
import sys
import time
import urllib.error
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import redis

from actors.schedule import freshness_policy, keep_fresh
from archibot.client import Client
from archibot.errors import ArchibotError
from archibot.operations import SYNC_TYPES
from archibot.settings import DEFAULT_KEEPALIVE_MAX_IDLE_S, DEFAULT_KEEPALIVE_S, Settings
from archibot_devtools.bench import (
    BENCH_DATABASE,
    PrivateRedis,
    _order_payload,
    _pct,
    orderable_customers,
    stop_all,
)
from archibot_devtools.local import SimProcess, Workers, fresh_database, start_sim, start_workers
from store.db import Database
from store.errors import StoreError
from store.freshness import Freshness, Policy
from store.states import PENDING, Status

DEFAULT_DAY_AGENTS = 20
DEFAULT_DAY_HOURS = 10.0
#: 10 ERP hours in 12 minutes.
DEFAULT_DAY_SPEEDUP = 50
#: How often the day calls the freshness tick (wall seconds).
DEFAULT_DAY_TICK_S = 2.0
#: After the day, how long the pending operations get to end (wall seconds).
DEFAULT_DAY_DRAIN_S = 180.0
#: The ERP's idle session expiry at speed 1 (erpsim's default; FACTS §1: 20-30 min).
ERP_SESSION_EXPIRY_S = 1_500.0
#: Each agent sends between these many orders a day.
ORDERS_PER_AGENT = (2, 5)
#: Office events (a new delivery note or invoice, a customer changed) per agent per day.
OFFICE_EVENTS_PER_AGENT = (1, 4)
#: Staleness counts only after this much of the day (everything starts never synced).
WARM_UP_ERP_H = 1.0


def _progress(text: str) -> None:
    print(f"[day] {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Event:
    """Something that happens during the day, ``at_s`` wall seconds after it began."""

    at_s: float
    agent: str
    #: An operation type the agent sends, or an office event: "ddt", "invoice", "customer".
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


def day_plan(state: dict[str, Any], agents: list[str], day_s: float, seed: int) -> list[Event]:
    """Every agent's orders and customer change, and the office's events, by time."""
    rng = random.Random(seed)
    products = state["products"]
    customers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in orderable_customers(state):
        customers[c["agent"]].append(c)
    events: list[Event] = []
    for j, agent in enumerate(agents):
        own = customers[agent]
        for _ in range(rng.randint(*ORDERS_PER_AGENT)):
            events.append(Event(rng.uniform(0, day_s), agent, "submit-order",
                                _order_payload(rng, products, rng.choice(own)["account"])))
        changed = rng.choice(own)
        events.append(Event(rng.uniform(0, day_s), agent, "update-customer",
                            {"customer": changed["account"], "fields": {"city": f"Padova {j}"}}))
        for _ in range(rng.randint(*OFFICE_EVENTS_PER_AGENT)):
            kind = rng.choice(("ddt", "invoice", "customer"))
            payload = ({"id": rng.choice(own)["id"], "phone": f"+39049{rng.randint(1_000_000, 9_999_999)}"}
                       if kind == "customer" else {})
            events.append(Event(rng.uniform(0, day_s), agent, kind, payload))
    return sorted(events, key=lambda e: e.at_s)


@dataclass
class DayRun:
    """What the day did, as it went."""

    sent: Counter[str] = field(default_factory=Counter)
    office: Counter[str] = field(default_factory=Counter)
    office_failed: Counter[str] = field(default_factory=Counter)
    send_errors: list[str] = field(default_factory=list)
    ticks: int = 0
    tick_errors: list[str] = field(default_factory=list)
    syncs_sent: Counter[str] = field(default_factory=Counter)
    deferred_max: int = 0
    max_running: int = 0
    max_in_flight: int = 0
    #: Per type: samples (agent × tick after the warm-up), and those older than their target.
    samples: Counter[str] = field(default_factory=Counter)
    stale: Counter[str] = field(default_factory=Counter)
    worst_age_erp_min: dict[str, float] = field(default_factory=dict)


def _office(sim: SimProcess, event: Event, run: DayRun) -> None:
    """A colleague's change in the ERP: a new delivery note or invoice, a customer changed."""
    try:
        if event.kind == "customer":
            sim.call("POST", f"/__sim/customers/{event.payload['id']}",
                     {"fields": {"PHONE": event.payload["phone"]}})
        else:
            sim.call("POST", "/__sim/documents", {"kind": event.kind, "agent": event.agent})
        run.office[event.kind] += 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        run.office_failed[f"{event.kind}: {str(exc)[:80]}"] += 1


def _send(client: Client, event: Event, run: DayRun) -> None:
    try:
        client.send(event.kind, event.agent, event.payload)
        run.sent[event.kind] += 1
    except (ArchibotError, StoreError) as exc:  # the day goes on; the report lists it
        if len(run.send_errors) < 10:
            run.send_errors.append(f"{event.kind} {event.agent}: {exc}")


def _sample(client: Client, policy: Policy, run: DayRun, erp_h: float, speedup: int) -> None:
    """The syncs in flight now, and how old every list is (after the warm-up)."""
    with client.db.connection() as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE status = %s) AS running, count(*) AS in_flight"
            " FROM operations WHERE NOT is_write AND op_type = ANY(%s) AND status = ANY(%s)",
            (Status.RUNNING.value, list(SYNC_TYPES), [s.value for s in PENDING]),
        ).fetchone()
    assert row is not None
    run.max_running = max(run.max_running, int(row["running"]))
    run.max_in_flight = max(run.max_in_flight, int(row["in_flight"]))
    if erp_h < WARM_UP_ERP_H:
        return
    snapshot = Freshness(client.db).snapshot(policy)
    for op_type, target in policy.targets.items():
        if op_type in policy.shared:
            ages = [a for a in (v.age_s.get(op_type) for v in snapshot.agents) if a is not None]
            views = [(min(ages) if ages else None, target.idle_s)]
        else:
            views = [(v.age_s.get(op_type), target.for_agent(v.active)) for v in snapshot.agents]
        for age, target_s in views:
            run.samples[op_type] += 1
            if age is None or age > target_s:
                run.stale[op_type] += 1
            if age is not None:
                erp_min = age * speedup / 60
                run.worst_age_erp_min[op_type] = max(run.worst_age_erp_min.get(op_type, 0.0), erp_min)


def run_day(args: argparse.Namespace, base: Settings) -> dict[str, Any]:
    agents_n = int(getattr(args, "agents", DEFAULT_DAY_AGENTS))
    hours = float(getattr(args, "hours", DEFAULT_DAY_HOURS))
    speedup = int(getattr(args, "speedup", DEFAULT_DAY_SPEEDUP))
    tick_s = float(getattr(args, "tick_s", DEFAULT_DAY_TICK_S))
    drain_s = float(getattr(args, "drain_s", DEFAULT_DAY_DRAIN_S))
    processes, threads = int(args.processes), int(args.threads)
    seed = int(getattr(args, "seed", 1))
    day_s = hours * 3600 / speedup
    private_redis = PrivateRedis() if shutil.which("redis-server") else None
    sim: SimProcess | None = None
    workers: Workers | None = None
    client: Client | None = None
    try:
        settings = dataclasses.replace(
            base,
            redis_url=private_redis.url if private_redis else base.redis_url,
            database_url=fresh_database(base.database_url, BENCH_DATABASE),
            freshness_speedup=speedup,
            freshness_tick_s=1,
            keepalive_s=max(1, DEFAULT_KEEPALIVE_S // speedup),
            keepalive_max_idle_s=max(1, DEFAULT_KEEPALIVE_MAX_IDLE_S // speedup),
            login_budget_window_s=max(60, base.login_budget_window_s // speedup),
        )
        if getattr(args, "cap", None) is not None:
            settings = dataclasses.replace(settings, background_syncs_max=int(args.cap))
        Database(settings.database_url).migrate()
        _progress(f"simulator: {agents_n} agents; a day of {hours:g} ERP hours in {day_s:.0f} s")
        sim = start_sim(profile=getattr(args, "profile", None) or "fast", agents=agents_n, seed=seed)
        sim.set_faults(session_expiry_s=ERP_SESSION_EXPIRY_S / speedup)
        settings = dataclasses.replace(settings, erp_url=sim.url)
        client = Client(settings)
        state = sim.state()
        agents = [a["username"] for a in state["agents"]][:agents_n]
        for agent in state["agents"][:agents_n]:
            client.agents.add(agent["username"], agent["password"])
        events = day_plan(state, agents, day_s, seed)
        policy = freshness_policy(settings)

        _progress(f"starting {processes} worker processes × {threads} threads")
        workers = start_workers(settings.to_env(), processes=processes, threads=threads)
        run = DayRun()
        started = time.monotonic()
        next_tick = started
        pending_events = list(events)
        last_report = started
        while (elapsed := time.monotonic() - started) < day_s:
            while pending_events and pending_events[0].at_s <= elapsed:
                event = pending_events.pop(0)
                if event.kind in ("ddt", "invoice", "customer"):
                    _office(sim, event, run)
                else:
                    _send(client, event, run)
            if time.monotonic() >= next_tick:
                next_tick += tick_s
                _tick(client, settings, policy, run, elapsed * speedup / 3600, speedup)
            if time.monotonic() - last_report > 30:
                last_report = time.monotonic()
                _progress(f"ERP {elapsed * speedup / 3600:.1f} h of {hours:g}: "
                          f"{sum(run.syncs_sent.values())} syncs sent, {sum(run.sent.values())} writes")
            time.sleep(0.05)
        _progress("the day is over: waiting for what is pending")
        drain_started = time.monotonic()
        while time.monotonic() - drain_started < drain_s:
            counts = client.reports.count_by_status()
            if not any(counts.get(s, 0) for s in PENDING):
                break
            time.sleep(0.5)
        wall_s = time.monotonic() - started
        rows = [dict(r) for r in client.reports.all_in_order()]
        counters = sim.counters()
        try:
            address_logins = sim.call("GET", "/__sim/logins")
        except (urllib.error.URLError, OSError, ValueError):
            address_logins = None
        return _figures(client, rows, counters, address_logins, run, policy, agents, {
            "agents": agents_n, "erp_hours": hours, "speedup": speedup, "tick_s": tick_s,
            "day_wall_s": round(day_s, 1), "wall_s": round(wall_s, 1), "processes": processes,
            "threads": threads, "seed": seed, "cap": policy.cap,
        })
    finally:
        stop_all(workers, sim, client, private_redis)


def _tick(client: Client, settings: Settings, policy: Policy, run: DayRun, erp_h: float,
          speedup: int) -> None:
    run.ticks += 1
    try:
        decided = keep_fresh(client, settings)
        if decided is not None:
            run.syncs_sent.update(d.op_type for d in decided.send)
            run.deferred_max = max(run.deferred_max, len(decided.deferred))
        _sample(client, policy, run, erp_h, speedup)
    except (ArchibotError, StoreError, redis.RedisError) as exc:  # the next tick tries again
        if len(run.tick_errors) < 10:
            run.tick_errors.append(f"{type(exc).__name__}: {exc}")


def _figures(client: Client, rows: list[dict[str, Any]], counters: dict[str, Any],
             address_logins: Any, run: DayRun, policy: Policy, agents: list[str],
             config: dict[str, Any]) -> dict[str, Any]:
    n = max(1, len(agents))
    logins = {name: int(counters.get("logins", {}).get(name, 0)) for name in agents}
    with client.db.connection() as conn:
        state_rows = conn.execute(
            "SELECT op_type, sum(skipped_total)::int AS skipped, sum(walks_total)::int AS walks"
            " FROM sync_state GROUP BY op_type"
        ).fetchall()
    from_state = {str(r["op_type"]): (int(r["skipped"] or 0), int(r["walks"] or 0)) for r in state_rows}
    syncs: dict[str, dict[str, Any]] = {}
    for op_type in SYNC_TYPES:
        mine = [r for r in rows if r["op_type"] == op_type]
        by_status = Counter(str(r["status"]) for r in mine)
        skipped_results = sum(1 for r in mine if (r["result"] or {}).get("skipped") == "unchanged")
        errors = Counter(str(r["error"])[:120] for r in mine if r["status"] == Status.FAILED)
        syncs[op_type] = {
            "sent": len(mine),
            "sent_by_scheduler": run.syncs_sent.get(op_type, 0),
            "done": by_status.get(Status.DONE, 0),
            "failed": by_status.get(Status.FAILED, 0),
            "cancelled": by_status.get(Status.CANCELLED, 0),
            "pending_at_end": sum(by_status.get(s, 0) for s in PENDING),
            "skipped_unchanged": max(skipped_results, from_state.get(op_type, (0, 0))[0]),
            "walks": from_state.get(op_type, (0, 0))[1] or None,
            "median_exec_ms": round(statistics.median(r["exec_ms"] for r in mine if r["status"] == Status.DONE))
            if by_status.get(Status.DONE) else None,
            "errors": dict(errors.most_common(3)),
        }
    writes = [r for r in rows if r["is_write"]]
    waits_ms = [(r["started_at"] - r["created_at"]).total_seconds() * 1000
                for r in writes if r["started_at"] is not None]
    speedup = int(config["speedup"])
    freshness = {
        op_type: {
            "target_erp_min": {"active": round(t.active_s * speedup / 60), "idle": round(t.idle_s * speedup / 60)},
            "worst_age_erp_min": round(run.worst_age_erp_min[op_type]) if op_type in run.worst_age_erp_min else None,
            "stale_samples_pct": round(100 * run.stale[op_type] / run.samples[op_type], 1)
            if run.samples[op_type] else None,
        }
        for op_type, t in policy.targets.items()
    }
    # The run is one working day: its totals are per day.
    return {
        "erp_requests_per_agent_per_day": round(int(counters.get("requests", 0)) / n, 1),
        "erp_callbacks_per_agent_per_day": round(int(counters.get("callbacks", 0)) / n, 1),
        "logins_per_agent_per_day": {
            "max": max(logins.values(), default=0),
            "median": statistics.median(logins.values()) if logins else 0,
            "total": sum(logins.values()),
            "by_agent": logins,
        },
        "login_posts_seen_by_erp": sum(int(v) for v in counters.get("login_posts", {}).values()),
        "sim_logins_by_address": address_logins,
        "syncs": syncs,
        "syncs_sent_total": sum(s["sent"] for s in syncs.values()),
        "syncs_skipped_unchanged_total": sum(s["skipped_unchanged"] for s in syncs.values()),
        "syncs_per_agent_per_day": round(sum(s["sent"] for s in syncs.values()) / n, 1),
        "max_background_syncs_at_once": {"running": run.max_running, "queued_or_running": run.max_in_flight,
                                         "cap": policy.cap, "most_deferred_in_a_tick": run.deferred_max},
        "writes": {
            "sent": len(writes),
            "done": sum(1 for r in writes if r["status"] == Status.DONE),
            "failed": sum(1 for r in writes if r["status"] == Status.FAILED),
            "wait_to_start_ms": {"p50": round(_pct(waits_ms, 0.5)), "p95": round(_pct(waits_ms, 0.95)),
                                 "max": round(max(waits_ms, default=0.0))},
            "errors": sorted({str(r["error"])[:120] for r in writes if r["status"] == Status.FAILED})[:5],
        },
        "freshness": freshness,
        "workload": {
            "sent": dict(run.sent), "office_events": dict(run.office),
            "office_events_failed": dict(run.office_failed), "send_errors": run.send_errors,
        },
        "ticks": run.ticks,
        "tick_errors": run.tick_errors,
        "overlaps": int(counters.get("overlaps", 0)),
        "config": config,
    }


def main(args: argparse.Namespace, settings: Settings) -> int:
    """Run the day and print its JSON; non-zero when a write failed or a tick raised."""
    result = run_day(args, settings)
    print(json.dumps(result))
    return 0 if result["writes"]["failed"] == 0 and not result["tick_errors"] else 1


def build_parser() -> argparse.ArgumentParser:
    """``python -m archibot_devtools.day``'s options (``archibot bench --day`` takes the bench's)."""
    parser = argparse.ArgumentParser(prog="archibot-day", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agents", type=int, default=DEFAULT_DAY_AGENTS)
    parser.add_argument("--hours", type=float, default=DEFAULT_DAY_HOURS, help="ERP hours of the day")
    parser.add_argument("--speedup", type=int, default=DEFAULT_DAY_SPEEDUP,
                        help="ERP time runs this many times faster than the wall clock")
    parser.add_argument("--tick-s", type=float, default=DEFAULT_DAY_TICK_S,
                        help="wall seconds between two freshness ticks")
    parser.add_argument("--drain-s", type=float, default=DEFAULT_DAY_DRAIN_S)
    parser.add_argument("--cap", type=int, default=None,
                        help="background syncs at once (default: ARCHIBOT_BACKGROUND_SYNCS_MAX)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--profile", choices=("fast", "realistic"), default="fast")
    parser.add_argument("--seed", type=int, default=1)
    return parser


if __name__ == "__main__":
    sys.exit(main(build_parser().parse_args(), Settings.from_env()))

