"""``archibot demo``: the main job on the embedded default, end to end.

Starts the simulator and two worker processes, stores a handful of agents'
credentials, submits a few orders per agent, shows progress, prints what
landed in the ERP, and stops everything it started. ``--lines N`` gives every
order N lines: ``archibot demo --profile realistic --agents 1 --orders 1
--lines 40`` times one 40-line order end to end (~17 min on the live ERP).
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from typing import Any

from archibot.client import Client
from archibot.settings import Settings
from archibot_devtools.bench import orderable_customers
from archibot_devtools.local import start_sim, start_workers
from erp.operations import marker_for
from store.states import STATUSES, TERMINAL, Status

DEMO_TIMEOUT_S = 900.0


def _say(text: str) -> None:
    print(text, flush=True)


def demo_orders(
    state: dict[str, Any], agent: str, count: int, rng: random.Random, lines_per_order: int | None = None
) -> list[dict[str, Any]]:
    """``count`` plausible submit-order payloads for ``agent`` from the simulator's data, each of
    ``lines_per_order`` distinct articles (1 to 3 at random when None)."""
    customers = [c for c in orderable_customers(state) if c["agent"] == agent]
    products = state["products"]
    orders = []
    for n in range(count):
        lines = []
        size = lines_per_order if lines_per_order is not None else rng.randint(1, 3)
        for product in rng.sample(products, size):
            package = rng.choice(product["variants"])["package_content"]
            lines.append({"article": product["item_id"], "quantity": package * rng.randint(1, 4)})
        orders.append({
            "customer": rng.choice(customers)["account"],
            "lines": lines,
            "notes": f"Ordine demo {n + 1} di {agent}",
        })
    return orders


def run_demo(
    settings: Settings, *, agents: int, orders_per_agent: int, profile: str, processes: int,
    lines: int | None = None,
) -> int:
    """Run the demo; 0 when every order landed exactly once."""
    if lines is not None and lines < 1:
        raise ValueError(f"--lines must be at least 1, not {lines}")
    from store.db import Database

    Database(settings.database_url).migrate()
    _say(f"starting the Archibald simulator ({profile} profile)…")
    sim = start_sim(profile=profile, agents=max(agents, 1), seed=42)
    workers = None
    client = None
    try:
        settings = _with_erp(settings, sim.url)
        _say(f"  simulator at {sim.url}")
        state = sim.state()
        names = [a["username"] for a in state["agents"]][:agents]
        client = Client(settings)
        for agent in state["agents"][:agents]:
            client.agents.add(agent["username"], agent["password"])
        _say(f"stored the ERP credentials of {len(names)} agents: {', '.join(names)}")

        _say(f"starting {processes} worker processes (one Chromium each)…")
        env = settings.to_env()
        t0 = time.monotonic()
        workers = start_workers(env, processes=processes)
        _say(f"  workers ready in {time.monotonic() - t0:.1f} s")

        rng = random.Random(7)
        op_ids: list[str] = []
        for agent in names:
            for payload in demo_orders(state, agent, orders_per_agent, rng, lines):
                op_ids.append(client.send("submit-order", agent, payload))
        _say(f"sent {len(op_ids)} submit-order operations; waiting…")
        # An agent's orders run one after the other, each within its own (per-line) limit.
        longest_s = orders_per_agent * settings.op_time_limit_s(
            "submit-order", {"lines": [{}] * (lines or 3)})
        statuses = _watch(client, op_ids, max(DEMO_TIMEOUT_S, float(longest_s)))

        _say("\nwhat landed in the ERP:")
        erp_orders = {o["reference"]: o for o in sim.state(include="orders")["orders"]}
        ok = True
        for op_id in op_ids:
            st = statuses[op_id]
            order = erp_orders.get(marker_for(op_id))
            if st["status"] == Status.DONE and order is not None:
                shown = ", ".join(f"{l['article']}×{l['quantity']:g}" for l in order["lines"])
                _say(f"  {st['agent']}: order {order['id']} for customer {order['customer']} [{shown}]")
            else:
                ok = False
                _say(f"  {st['agent']}: operation {op_id} {st['status']}: {st['error']}")
        _say_times(statuses, op_ids, profile)
        counters = sim.counters()
        _say(f"\nlogins per agent: {counters.get('logins')}  overlaps: {counters.get('overlaps')}")
        return 0 if ok else 1
    finally:
        _say("stopping the workers and the simulator…")
        if workers is not None:
            workers.stop()
        sim.stop()
        if client is not None:
            client.close()


#: What FACTS.md §10 reports of the live ERP, for comparison with the realistic profile.
FACTS_TIMES = (
    "FACTS §10, the live ERP: a few-line order ~80 s end to end (seed); UpdateEdit 5-7 s a line "
    "(>20 s possible); cold login + navigation 15-30 s; a 40-line order ~17 min"
)


def _say_times(statuses: dict[str, dict[str, Any]], op_ids: list[str], profile: str) -> None:
    """Each order's execution time by its number of lines, beside what the live ERP takes."""
    by_lines: dict[int, list[float]] = {}
    for op_id in op_ids:
        st = statuses[op_id]
        if st["status"] == Status.DONE:
            by_lines.setdefault(len(st["payload"]["lines"]), []).append(st["exec_ms"] / 1000)
    _say(f"\nsubmit-order execution time ({profile} profile), by lines:")
    for lines, times in sorted(by_lines.items()):
        times.sort()
        _say(f"  {lines} line(s): median {times[len(times) // 2]:.1f} s "
             f"(min {times[0]:.1f}, max {times[-1]:.1f}, n={len(times)})")
    _say(f"  {FACTS_TIMES}")


def _with_erp(settings: Settings, url: str) -> Settings:
    from dataclasses import replace

    return replace(settings, erp_url=url)


def _watch(client: Client, op_ids: list[str], timeout_s: float = DEMO_TIMEOUT_S) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        statuses = {op_id: client.status(op_id) for op_id in op_ids}
        counts = Counter(s["status"] for s in statuses.values())
        line = "  " + "  ".join(f"{k}={counts.get(k, 0)}" for k in STATUSES)
        if len(op_ids) == 1:
            # One (long) order: show its progress ("line 12/40 added").
            line += f"  {(statuses[op_ids[0]].get('progress') or {}).get('step', '')}"
        if line != last:
            _say(line)
            last = line
        if all(s["status"] in TERMINAL for s in statuses.values()) or time.monotonic() > deadline:
            return statuses
        time.sleep(1.0)


if __name__ == "__main__":
    sys.exit(run_demo(Settings.from_env(), agents=4, orders_per_agent=3, profile="fast", processes=2))
