"""``archibot bench``: run a burst on a private stack and print one JSON object of measurements.

It starts its own simulator (fixed latency per request and callback), its own
Redis (so ``INFO commandstats`` counts only this run), a clean journal database,
and its own worker processes; sends every agent's operations in order, waits for
all of them, and computes every figure from what happened: the journal's
timestamps, the simulator's state and counters, Redis's command statistics and
``/proc``. Progress goes to stderr; stdout gets the JSON only.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import redis

from archibot.client import Client
from archibot.keys import HEARTBEAT_PREFIX
from archibot.settings import Settings
from archibot_devtools import steady
from archibot_devtools.erp_time import erp_time_by_type
from archibot_devtools.local import (
    SimProcess,
    Workers,
    die_with_parent,
    fresh_database,
    interrupts_ignored,
    start_sim,
    start_workers,
)
from erp.operations import marker_for
from pool.procstat import (
    command_line,
    cpu_seconds,
    cpu_seconds_by_kind,
    process_tree,
    pss_bytes,
    rss_bytes,
)
from store.db import Database
from store.states import PENDING, TERMINAL, Status

#: The database the bench drops and recreates (``ARCHIBOT_BENCH_DATABASE`` picks another, so
#: two benches on one PostgreSQL do not drop each other's journal).
BENCH_DATABASE = os.environ.get("ARCHIBOT_BENCH_DATABASE", "archibot_bench")
#: How long the bench waits for its operations after the last is sent (``--timeout-s``).
DEFAULT_BENCH_TIMEOUT_S = 1_800.0
#: The exit code of a bench whose operations did not all end within ``--timeout-s``
#: (1: they ended, some failed; 130: interrupted by SIGINT or SIGTERM).
EXIT_TIMED_OUT = 3
#: Operations per agent in one round of the burst's mix (:func:`agent_plan` without padding).
MIX_ROUND_OPS = 6
_SAMPLE_INTERVAL_S = 0.5


def _progress(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


# -- the workload -----------------------------------------------------------------------


def _order_payload(rng: random.Random, products: list[dict[str, Any]], customer: str) -> dict[str, Any]:
    lines = []
    for product in rng.sample(products, rng.randint(1, 3)):
        package = rng.choice(product["variants"])["package_content"]
        lines.append({"article": product["item_id"], "quantity": package * rng.randint(1, 5)})
    return {"customer": customer, "lines": lines}


def agent_plan(j: int, agent: str, count: int, rng: random.Random, products: list[dict[str, Any]],
               customers: list[dict[str, Any]], mix: str) -> list[tuple[str, dict[str, Any] | str]]:
    """One agent's operations in send order. A payload may name ``"@N"``: the op id of its
    N-th operation (a submit-order), which the bench fills in once that one is sent."""
    if mix == "orders":
        return [("submit-order", _order_payload(rng, products, rng.choice(customers)["account"]))
                for _ in range(count)]
    first = _order_payload(rng, products, customers[0]["account"])
    edited = _order_payload(rng, products, customers[0]["account"])["lines"]
    second = _order_payload(rng, products, customers[1]["account"])
    vat = f"{9 * 10**10 + j * 1000 + rng.randint(0, 999):011d}"
    tails: list[list[tuple[str, dict[str, Any] | str]]] = [
        [("submit-order", second), ("delete-order", {"order": "@3"}), ("send-to-verona", {"order": "@0"})],
        [("update-customer", {"customer": customers[2]["account"], "fields": {"city": f"Padova {j}"}}),
         ("send-to-verona", {"order": "@0"}), ("sync-customers", {})],
        [("submit-order", second), ("sync-orders", {}), ("send-to-verona", {"order": "@0"})],
    ]
    tail = tails[j % 3]
    if j == 0:
        tail = [tail[0], tail[1], ("sync-products", {})]
    plan: list[tuple[str, dict[str, Any] | str]] = [
        ("submit-order", first),
        ("edit-order", {"order": "@0", "lines": edited}),
        ("create-customer", {"name": f"Bench Cliente {j} S.r.l.", "vat_number": vat, "street": "Via Bench 1",
                             "zip": "35100", "city": "Padova", "email": f"bench{j}@pec.example.it",
                             "phone": f"+39049{j:07d}"}),
        *tail,
    ]
    while len(plan) < count:
        plan.append(("submit-order", _order_payload(rng, products, rng.choice(customers)["account"])))
    return plan[:count]


def orderable_customers(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The simulator's customers that take orders (BLOCKED not "Completo", FACTS §13)."""
    return [c for c in state["customers"] if c.get("blocked") != "Completo"]


def burst(state: dict[str, Any], agents: list[str], ops_per_agent: int, seed: int,
          mix: str = "all") -> list[list[tuple[str, dict[str, Any] | str]]]:
    """Every agent's plan (see :func:`agent_plan`), in agent order."""
    rng = random.Random(seed)
    products = state["products"]
    customers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in orderable_customers(state):
        customers[c["agent"]].append(c)
    return [agent_plan(j, agent, ops_per_agent, rng, products, customers[agent], mix)
            for j, agent in enumerate(agents)]


def login_figures(counters: dict[str, Any], client: Client, agents: int) -> dict[str, Any]:
    """ERP logins per agent, as the simulator saw them and as the journal counted them."""
    seen = {str(k): int(v) for k, v in counters.get("logins", {}).items()}
    per_agent = [seen.get(name, 0) for name in sorted(seen)] + [0] * max(0, agents - len(seen))
    journal = client.logins()
    return {
        "max": max(per_agent, default=0),
        "median": statistics.median(per_agent) if per_agent else 0,
        "total": sum(per_agent),
        "by_agent": dict(sorted(seen.items())),
        "journal_total": int(journal["total_in_window"]),
        "journal_max": max((int(v["in_window"]) for v in journal["agents"].values()), default=0),
        # Logins whose page never answered: reserved, then given back (the ERP saw nothing).
        "journal_unreached": sum(int(v["unreached"]) for v in journal["agents"].values()),
        # Every login post the ERP received (accepted or not): what its operator can count.
        "posts_seen_by_erp": sum(int(v) for v in counters.get("login_posts", {}).values()),
        "budget_spent_agents": len(journal["spent"]),
        "budget_per_day": int(journal["budget_per_day"]),
        "refused_by_erp": sum(int(v) for v in counters.get("logins_refused", {}).values()),
        "session_waits": int(counters.get("session_waits", 0)),
    }


def send_burst(client: Client, agents: list[str], plans: list[list[tuple[str, Any]]]) -> list[str]:
    """Send the plans interleaved across agents, each agent's in order; resolve ``@N`` refs."""
    sent: dict[str, list[str]] = {agent: [] for agent in agents}
    op_ids = []
    for i in range(max(len(p) for p in plans)):
        for agent, plan in zip(agents, plans):
            if i >= len(plan):
                continue
            op_type, payload = plan[i]
            if isinstance(payload, dict) and str(payload.get("order", "")).startswith("@"):
                payload = {**payload, "order": sent[agent][int(payload["order"][1:])]}
            op_id = client.send(op_type, agent, payload)
            sent[agent].append(op_id)
            op_ids.append(op_id)
    return op_ids


# -- the private services ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A throw-away redis-server, so command statistics count this run only."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="archibot-bench-redis-")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),  # noqa: PLW1509 (one C call, see there)
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)



def redis_calls(client: redis.Redis) -> int:
    """Every command Redis has executed (scripts' inner commands included), less INFO itself."""
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k not in ("cmdstat_info",))


def redis_calls_by_command(client: redis.Redis) -> dict[str, int]:
    """Calls per command so far (``evalsha`` and the commands its scripts ran, apart)."""
    stats = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info"}


def browser_recycles(client: redis.Redis) -> int:
    """Chromium recycles of the running workers, as of their last heartbeat (every few s)."""
    total = 0
    for key in client.scan_iter(match=HEARTBEAT_PREFIX + "*"):
        raw = client.get(key)
        if raw:
            total += int(json.loads(raw).get("browser_recycles", 0))
    return total


# -- sampling the workers -----------------------------------------------------------------


class ProcSampler(threading.Thread):
    """Samples each worker's RSS (the process plus its Chromium) while the burst runs."""

    def __init__(self, workers: Workers) -> None:
        super().__init__(daemon=True)
        self.workers = workers
        self.max_rss_bytes = 0
        self.max_pss_bytes = 0
        self.samples: list[int] = []
        self._stop_event = threading.Event()

    def trees(self) -> list[list[int]]:
        return [process_tree(pid) for pid in self.workers.worker_pids()]

    def run(self) -> None:
        while not self._stop_event.wait(_SAMPLE_INTERVAL_S):
            for tree in self.trees():
                rss = rss_bytes(tree)
                self.samples.append(rss)
                self.max_rss_bytes = max(self.max_rss_bytes, rss)
                # PSS counts pages shared between Chromium's processes once: the real footprint.
                self.max_pss_bytes = max(self.max_pss_bytes, pss_bytes(tree))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)


def cpu_by_kind_of(workers: Workers) -> dict[str, float]:
    """:func:`cpu_of` by kind of process: the Python workers, Chromium's browser process and
    helpers, its renderers (the pages), its GPU and network services."""
    return cpu_seconds_by_kind([p for w in workers.worker_pids() for p in process_tree(w)])


def cpu_of(workers: Workers) -> float:
    """CPU seconds so far of the worker processes and their Chromium processes."""
    pids = [p for w in workers.worker_pids() for p in process_tree(w)]
    return cpu_seconds(pids)


# -- the figures ---------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def journal_figures(rows: list[dict[str, Any]], slots: int) -> dict[str, Any]:
    """Makespan, lower bound, handoff gaps, latencies and FIFO violations from journal rows."""
    done = [r for r in rows if r["finished_at"] is not None and r["started_at"] is not None]
    if not done:
        return {}
    t0 = min(r["created_at"] for r in rows)
    makespan_s = (max(r["finished_at"] for r in done) - t0).total_seconds()
    chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in done:
        chains[r["agent"]].append(r)
    total_work_s = sum(r["exec_ms"] for r in done) / 1000
    longest_chain_s = max(sum(r["exec_ms"] for r in chain) / 1000 for chain in chains.values())
    lower_bound_s = max(longest_chain_s, total_work_s / slots)
    gaps_ms: list[float] = []
    fifo_violations = 0
    for chain in chains.values():
        by_start = sorted(chain, key=lambda r: r["started_at"])
        for prev, nxt in itertools.pairwise(by_start):
            # It was waiting when the previous one ended: a handoff. (A preempted sync's
            # first start precedes the writes that interrupted it: not a handoff.)
            if nxt["created_at"] < prev["finished_at"] <= nxt["started_at"]:
                gaps_ms.append((nxt["started_at"] - prev["finished_at"]).total_seconds() * 1000)
        writes = sorted((r for r in chain if r["is_write"]), key=lambda r: r["seq"])
        fifo_violations += sum(1 for a, b in itertools.pairwise(writes) if b["started_at"] < a["finished_at"])
    latencies_ms = [(r["finished_at"] - r["created_at"]).total_seconds() * 1000 for r in done]
    return {
        "makespan_s": round(makespan_s, 2),
        "lower_bound_s": round(lower_bound_s, 2),
        "ratio": round(makespan_s / lower_bound_s, 3) if lower_bound_s else None,
        "total_work_s": round(total_work_s, 2),
        "longest_chain_s": round(longest_chain_s, 2),
        "op_exec_ms": {"p50": round(_pct([r["exec_ms"] for r in done], 0.5)),
                       "p95": round(_pct([r["exec_ms"] for r in done], 0.95))},
        "handoff_gap_ms": {"p50": round(_pct(gaps_ms, 0.5), 1), "p95": round(_pct(gaps_ms, 0.95), 1),
                           "max": round(max(gaps_ms), 1) if gaps_ms else 0.0, "count": len(gaps_ms)},
        "op_latency_ms": {"p50": round(_pct(latencies_ms, 0.5)), "p95": round(_pct(latencies_ms, 0.95))},
        "fifo_violations": fifo_violations,
    }


def worker_shares(rows: list[dict[str, Any]], processes: int) -> dict[str, Any]:
    """Done operations per worker process (the journal's last claimer), and the smallest
    process's share of an even split (1.0: every process did its share)."""
    by_worker: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["status"] == Status.DONE and r["worker"]:
            by_worker[str(r["worker"])] += 1
    even = sum(by_worker.values()) / max(processes, len(by_worker), 1)
    least = min(by_worker.values(), default=0) if len(by_worker) >= processes else 0
    return {"ops_by_worker": dict(sorted(by_worker.items())),
            "min_worker_share": round(least / even, 3) if even else None}


def erp_figures(sim: SimProcess, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Duplicates and lost writes, checked against the simulator's own state.

    A done write whose effect is missing is lost; an effect present twice is a
    duplicate; an operation never ended is lost too.
    """
    state = sim.state(include="orders,customers")
    orders = {o["id"]: o for o in state["orders"]}
    by_reference: dict[str, int] = defaultdict(int)
    for order in state["orders"]:
        by_reference[order["reference"]] += 1
    by_vat: dict[str, int] = defaultdict(int)
    for customer in state["customers"]:
        by_vat[customer["vat_number"]] += 1
    customers = {(c["agent"], c["account"]): c for c in state["customers"]}
    by_id = {str(r["id"]): r for r in rows}
    deleted = {str(r["payload"]["order"]) for r in rows if r["op_type"] == "delete-order" and r["status"] == Status.DONE}

    def order_id(ref: str) -> str | None:
        row = by_id.get(ref)
        return str((row["result"] or {}).get("order_id")) if row is not None and row["result"] else ref

    duplicates = lost = 0
    details: list[str] = []

    def bad(kind: str, r: dict[str, Any], why: str) -> None:
        if len(details) < 10:
            details.append(f"{kind} {r['op_type']} {r['id']}: {why}")

    for r in rows:
        if r["status"] in PENDING:
            lost += 1
            bad("lost", r, f"still {r['status']}")
            continue
        payload, kind = r["payload"], r["op_type"]
        if r["status"] == Status.FAILED:
            # A failed write must have left nothing behind: an effect of it is a duplicate.
            extra = 0
            if kind == "submit-order":
                extra = by_reference.get(marker_for(str(r["id"])), 0)
            elif kind == "create-customer":  # a VAT number may have existed before: 1 is fine
                extra = max(0, by_vat.get(payload["vat_number"], 0) - 1)
            if extra:
                duplicates += extra
                bad("duplicate", r, "failed, yet its effect is in the ERP")
            continue
        missing = extra = 0
        if kind == "submit-order":
            count = by_reference.get(marker_for(str(r["id"])), 0)
            expected = 0 if str(r["id"]) in deleted else 1
            extra, missing = max(0, count - expected), int(count < expected)
        elif kind == "edit-order":
            order = orders.get(order_id(str(payload["order"])) or "")
            wanted = sorted((l["article"], float(l["quantity"])) for l in payload["lines"])
            have = sorted((l["article"], float(l["quantity"])) for l in (order or {}).get("lines", []))
            if have != wanted:
                extra, missing = int(len(have) > len(wanted)), int(len(have) <= len(wanted))
        elif kind == "delete-order":
            missing = int(order_id(str(payload["order"])) in orders)
        elif kind == "send-to-verona":
            order = orders.get(order_id(str(payload["order"])) or "")
            missing = int(order is None or order["transfer_status"] == "Modifica" or not order["sales_id"])
        elif kind == "create-customer":
            count = by_vat.get(payload["vat_number"], 0)
            extra, missing = max(0, count - 1), int(count == 0)
        elif kind == "update-customer":
            customer = customers.get((r["agent"], payload["customer"]))
            missing = int(customer is None or any(customer.get(k) != v for k, v in payload["fields"].items()))
        duplicates += extra
        lost += missing
        if extra or missing:
            bad("duplicate" if extra else "lost", r, f"result {r['result']}")
    return {"duplicates": duplicates, "lost": lost, "integrity_problems": details}


# -- the run ---------------------------------------------------------------------------------


def run_bench(args: argparse.Namespace, base: Settings) -> dict[str, Any]:
    faults = json.loads(args.faults) if args.faults else None
    private_redis = PrivateRedis() if shutil.which("redis-server") else None
    redis_url = private_redis.url if private_redis else base.redis_url
    sim = workers = client = None
    # The workers' TMPDIR: Chromium's profile directories of this run only (counted, then removed).
    tmp_dir = tempfile.mkdtemp(prefix="archibot-bench-tmp-")
    os.chmod(tmp_dir, 0o1777)  # Chromium may run as another user (pool/browser.py)
    try:
        settings = dataclasses.replace(
            base, redis_url=redis_url, database_url=fresh_database(base.database_url, BENCH_DATABASE),
            handoff=not args.no_handoff,
        )
        Database(settings.database_url).migrate()
        _progress(f"simulator: {args.agents} agents, "
                  + (f"{args.profile} profile" if args.profile else f"latency {args.latency_ms} ms"))
        if args.profile:
            sim = start_sim(profile=args.profile, agents=args.agents, seed=args.seed)
        else:
            sim = start_sim(profile="fast", latency_ms=args.latency_ms, agents=args.agents, seed=args.seed)
        # An outage starts with the burst (not while the workers boot).
        outage_s = float((faults or {}).get("outage_s", 0))
        if faults:
            sim.set_faults(**{k: v for k, v in faults.items() if k != "outage_s"})
        settings = dataclasses.replace(settings, erp_url=sim.url)
        client = Client(settings)
        state = sim.state()
        agents = [a["username"] for a in state["agents"]][: args.agents]
        for agent in state["agents"][: args.agents]:
            client.agents.add(agent["username"], agent["password"])
        steady_ops = steady.total_ops(args.duration_s, args.rate) if args.duration_s else 0
        if steady_ops:
            plans = steady.steady_plans(
                lambda r: burst(state, agents, MIX_ROUND_OPS, args.seed + r, args.mix), len(agents), steady_ops)
        else:
            plans = burst(state, agents, args.ops_per_agent, args.seed, args.mix)

        _progress(f"starting {args.processes} worker processes × {args.threads} threads")
        boot_started = time.monotonic()
        workers = start_workers({**settings.to_env(), "TMPDIR": tmp_dir},
                                processes=args.processes, threads=args.threads)
        worker_boot_s = time.monotonic() - boot_started
        sampler = ProcSampler(workers)
        rclient = redis.Redis.from_url(redis_url)
        calls_before = redis_calls(rclient)
        by_command_before = redis_calls_by_command(rclient)
        cpu_before = cpu_of(workers)
        cpu_kinds_before = cpu_by_kind_of(workers)
        sampler.start()

        _progress(f"sending {steady_ops or sum(len(p) for p in plans)} operations")
        outage_end = None
        if outage_s:
            sim.set_faults(outage_s=outage_s)
            outage_end = time.time() + outage_s
        burst_started = time.monotonic()
        burst_wall_s = time.time()
        steady_sampler = None
        if steady_ops:
            sim_now = sim
            steady_sampler = steady.SteadySampler(
                lambda: workers.worker_pids() if workers is not None else [], redis_url, tmp_dir,
                lambda: max((int(v) for v in sim_now.counters().get("logins", {}).values()), default=0),
                sample_s=args.sample_s)
            steady_sampler.start()
            op_ids = steady.send_paced(client, agents, plans, args.rate, steady_ops, _progress)
        else:
            op_ids = send_burst(client, agents, plans)
        timeout_s = args.timeout_s if args.timeout_s is not None else DEFAULT_BENCH_TIMEOUT_S
        deadline = time.monotonic() + timeout_s
        last_report = 0.0
        stop_at = args.kill_at_s if args.kill_at_s is not None else args.term_at_s
        stop_figures: dict[str, Any] = {}
        while True:
            if stop_at is not None and not stop_figures and time.monotonic() - burst_started >= stop_at:
                workers, stop_figures = _stop_and_restart(
                    workers, settings, args, client, signal.SIGKILL if args.kill_at_s is not None
                    else signal.SIGTERM)
                sampler.stop()
                sampler = ProcSampler(workers)
                sampler.start()
            counts = {str(k): n for k, n in client.reports.count_by_status().items()}
            finished = sum(counts.get(s, 0) for s in TERMINAL)
            if time.monotonic() - last_report > 5:
                _progress(f"{finished}/{len(op_ids)} ended ({counts})")
                last_report = time.monotonic()
            if finished >= len(op_ids):
                break
            if time.monotonic() > deadline:
                _progress(f"timed out after {timeout_s:g} s: {len(op_ids) - finished} not ended ({counts})")
                break
            time.sleep(0.2)
        pending = {s: n for s, n in counts.items() if s not in TERMINAL}
        if steady_sampler is not None:
            steady_sampler.stop()
        calls_after = redis_calls(rclient)
        by_command_after = redis_calls_by_command(rclient)
        recycles = browser_recycles(rclient)
        cpu_after = cpu_of(workers)
        cpu_kinds_after = cpu_by_kind_of(workers)
        sampler.stop()
        rclient.close()

        rows = [dict(r) for r in client.reports.all_in_order()]
        counters = sim.counters()
        result: dict[str, Any] = {
            "ops": len(op_ids),
            "done": sum(1 for r in rows if r["status"] == Status.DONE),
            "failed": sum(1 for r in rows if r["status"] == Status.FAILED),
            "timed_out": bool(pending),
            "pending": pending,
        }
        slots = args.processes * min(args.threads, settings.contexts_per_browser)
        result.update(journal_figures(rows, slots))
        result.update({
            "logins": sum(int(v) for v in counters.get("logins", {}).values()),
            "agents": args.agents,
            "requeues": sum(int(r["requeues"]) for r in rows),
            "browser_recycles": recycles,
            "retries": sum(max(0, int(r["attempts"]) - 1) for r in rows),
            "redis_commands_per_op": round((calls_after - calls_before) / len(op_ids), 1),
            # Where they go: per command, per operation, the largest first.
            "redis_commands_per_op_by_command": dict(sorted(
                ((name, round((n - by_command_before.get(name, 0)) / len(op_ids), 2))
                 for name, n in by_command_after.items() if n > by_command_before.get(name, 0)),
                key=lambda kv: -kv[1])),
            "worker_rss_mb": {"max": round(sampler.max_rss_bytes / 2**20, 1),
                              "median": round(statistics.median(sampler.samples) / 2**20, 1) if sampler.samples else 0},
            "worker_pss_mb": {"max": round(sampler.max_pss_bytes / 2**20, 1)},
            "cpu_s_per_op": round((cpu_after - cpu_before) / len(op_ids), 3),
            # The same CPU by kind of process (a worker group stopped mid-run starts afresh).
            "cpu_s_per_op_by_process": {
                kind: round((cpu_kinds_after[kind] - cpu_kinds_before.get(kind, 0.0)) / len(op_ids), 3)
                for kind in sorted(cpu_kinds_after) if kind != "gone"},
            "worker_boot_s": round(worker_boot_s, 2),
            "op_exec_ms_by_type": {
                t: round(statistics.median(r["exec_ms"] for r in rows if r["op_type"] == t and r["status"] == Status.DONE))
                for t in sorted({r["op_type"] for r in rows if r["status"] == Status.DONE})
            },
        })
        result.update(worker_shares(rows, args.processes))
        result.update(erp_figures(sim, rows))
        # What the ERP's answers cost of each operation type, and what the bot adds to them.
        result["erp_time_by_type"] = erp_time_by_type(rows, sim.request_times(since_s=burst_wall_s))
        result["overlaps"] = int(counters.get("overlaps", 0))
        result["logins_per_agent"] = login_figures(counters, client, args.agents)
        result["config"] = {"processes": args.processes, "threads": args.threads, "slots": slots,
                            "latency_ms": None if args.profile else args.latency_ms, "profile": args.profile, "ops_per_agent": args.ops_per_agent,
                            "handoff": settings.handoff, "faults": faults, "seed": args.seed,
                            "mix": args.mix}
        result["by_type"] = {t: sum(1 for r in rows if r["op_type"] == t) for t in sorted({r["op_type"] for r in rows})}
        result["errors"] = sorted({str(r["error"]) for r in rows if r["status"] == Status.FAILED})[:5]
        if outage_end is not None:
            after = [r["finished_at"].timestamp() for r in rows
                     if r["finished_at"] is not None and r["finished_at"].timestamp() >= outage_end]
            result["outage"] = {
                "outage_s": outage_s,
                "rejected_requests": int(counters.get("outage_rejections", 0)),
                # From the ERP's return to the first operation that ended after it.
                "first_done_after_return_s": round(min(after) - outage_end, 1) if after else None,
                "burst_end_after_return_s": round(max(after) - outage_end, 1) if after else None,
            }
        if stop_figures:
            stopped_at = stop_figures.pop("stopped_at")
            running_ids = stop_figures.pop("running_ids")
            orphans = [r for r in rows if str(r["id"]) in running_ids]
            ends = [r["finished_at"].timestamp() for r in orphans if r["finished_at"] is not None]
            stop_figures["running_at_stop"] = len(orphans)
            stop_figures["all_terminal"] = all(r["status"] in TERMINAL for r in rows)
            # From the signal to the last operation that was running then being finished.
            stop_figures["recovery_s"] = round(max(ends) - stopped_at, 1) if ends else None
            result["stop"] = stop_figures
        if steady_sampler is not None:
            result["steady"] = steady.summary(steady_sampler.samples, {
                "duration_s": args.duration_s, "rate_per_min": args.rate, "sample_s": args.sample_s})
        return result
    finally:
        try:
            stop_all(workers, sim, client, private_redis)
        finally:
            _wait_for_tmp_users(tmp_dir)
        result_dirs = steady.profile_dirs(tmp_dir)
        if result_dirs:
            _progress(f"{result_dirs} Chromium profile directories left behind in {tmp_dir}; removing them")
        _remove_tmp_dir(tmp_dir)


#: How long the bench retries removing its TMPDIR: a Chromium ending by its parent-death
#: signal may still be writing into its profile when the first attempt runs.
TMP_DIR_REMOVE_S = 30.0
#: ...and it must stay gone this long (a writer recreating it meanwhile was seen under load).
TMP_DIR_GONE_S = 1.0


def _tmp_users(tmp_dir: str) -> list[int]:
    """The live processes started with ``TMPDIR=tmp_dir`` (the workers and their Chromium)."""
    needle = f"TMPDIR={tmp_dir}\0".encode()
    users = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if needle in f.read():
                        users.append(int(entry))
            except OSError:
                continue  # gone, or not ours to read
    return users


def _wait_for_tmp_users(tmp_dir: str) -> None:
    """Wait (bounded) until no process started in ``tmp_dir`` is alive: a Chromium ending by
    its parent-death signal after its worker left would write into a removed profile."""
    deadline = time.monotonic() + TMP_DIR_REMOVE_S
    while (users := _tmp_users(tmp_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if users:
        _progress(f"still running in {tmp_dir} after {TMP_DIR_REMOVE_S:g} s: "
                  + "; ".join(f"{pid} {(command_line(pid) or '(gone)')[:120]}" for pid in users))


def _remove_tmp_dir(tmp_dir: str) -> None:
    """Remove the workers' TMPDIR, retrying while late writers fill it again."""
    deadline = time.monotonic() + TMP_DIR_REMOVE_S
    gone_since = None
    while time.monotonic() < deadline:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if os.path.exists(tmp_dir):
            gone_since = None
        elif gone_since is None:
            gone_since = time.monotonic()
        elif time.monotonic() - gone_since >= TMP_DIR_GONE_S:
            return  # and stayed gone: no late writer is left
        time.sleep(0.2)
    left = [str(p) for p in Path(tmp_dir).rglob("*")][:10] if os.path.exists(tmp_dir) else []
    _progress(f"{tmp_dir} kept coming back for {TMP_DIR_REMOVE_S:g} s; last seen holding {left}")


def stop_all(workers: Any, sim: Any, client: Any, private_redis: Any) -> None:
    """Stop what a run started, the workers first (any of them may be None); a second
    SIGINT or SIGTERM meanwhile is ignored, so the cleanup is never cut short."""
    with interrupts_ignored():
        if workers is not None:
            workers.stop()
        if sim is not None:
            sim.stop()
        if client is not None:
            client.close()
        if private_redis is not None:
            private_redis.stop()


def _stop_and_restart(
    workers: Workers, settings: Settings, args: argparse.Namespace, client: Client, signum: int
) -> tuple[Workers, dict[str, Any]]:
    """Signal the whole worker group, wait for it to exit, start a fresh group (no scheduler)."""
    running = client.reports.ids_with_status(Status.RUNNING)
    name = signal.Signals(signum).name
    _progress(f"{name} to the worker group ({len(running)} operations running)")
    stopped_at = time.time()
    started = time.monotonic()
    os.killpg(workers.proc.pid, signum)
    try:
        workers.proc.wait(120)
    except subprocess.TimeoutExpired:
        pass
    exit_s = time.monotonic() - started
    log = "".join(workers.log_lines)
    failed_by_stop = client.reports.count_by_status().get(Status.FAILED, 0)
    workers.stop()
    figures = {
        "signal": name, "stopped_at": stopped_at, "running_ids": set(running),
        "exit_s": round(exit_s, 1), "exit_code": workers.proc.returncode,
        "failed_at_exit": int(failed_by_stop),
        "messages_dropped": log.count("message_dropped"),
        "cannot_schedule_errors": log.count("cannot schedule new futures"),
        "handed_back": log.count("op_handed_back"),
    }
    _progress(f"worker group exited in {exit_s:.1f} s; starting a new one")
    return start_workers(settings.to_env(), processes=args.processes, threads=args.threads), figures


def main(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "day", False):
        # A simulated working day under the freshness scheduler (archibot_devtools/day.py).
        from archibot_devtools.day import main as day_main

        return day_main(args, settings)
    if getattr(args, "journal", False):
        from archibot_devtools.journal_bench import main as journal_main

        return journal_main(args, settings)
    # SIGTERM unwinds like Ctrl+C, so run_bench's cleanup stops everything it started.
    signal.signal(signal.SIGTERM, _interrupt)
    result = run_bench(args, settings)
    print(json.dumps(result))
    if result["timed_out"]:
        return EXIT_TIMED_OUT
    return 0 if result["failed"] == 0 and result["done"] == result["ops"] else 1


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)
