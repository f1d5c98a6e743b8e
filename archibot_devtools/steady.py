"""``archibot bench --duration-s D --rate R``: a steady run instead of a burst.

A burst shows how well the scheduler packs work; a steady run shows what an hour or a
day of ordinary traffic does to the workers: whether their memory, Chromium's newPage
time, the open contexts and the profile directories stay flat (the pool recycles its
browser before it degrades), and how often each agent had to log in. Operations go out
evenly spaced at R per minute, in the burst's mix, and every ``sample_s`` the sampler
records what the workers hold; ``summary`` compares the first quarter with the last.
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from archibot.client import Client
from archibot.heartbeats import read_heartbeats
from pool.procstat import process_tree, pss_bytes, rss_bytes

#: Seconds between two samples of the workers (a heartbeat is at most a few seconds old).
DEFAULT_SAMPLE_S = 30.0
#: The prefix pool/browser.py gives each Chromium's throw-away profile directory.
CHROMIUM_PROFILE_PREFIX = "archibot-chromium-"

Plan = list[tuple[str, Any]]


def steady_plans(one_round: Callable[[int], list[Plan]], agents: int, total_ops: int) -> list[Plan]:
    """Each agent's operations for ``total_ops`` sent in all: rounds of the burst's plan
    (``one_round(r)`` gives round r's plans), its ``@N`` references shifted to the round."""
    plans: list[Plan] = [[] for _ in range(agents)]
    r = 0
    while sum(len(p) for p in plans) < total_ops:
        for plan, more in zip(plans, one_round(r)):
            offset = len(plan)
            for op_type, payload in more:
                if isinstance(payload, dict) and str(payload.get("order", "")).startswith("@"):
                    payload = {**payload, "order": f"@{int(payload['order'][1:]) + offset}"}
                plan.append((op_type, payload))
        r += 1
    return plans


def send_paced(client: Client, agents: list[str], plans: list[Plan], rate_per_min: float,
               total_ops: int, log: Callable[[str], None]) -> list[str]:
    """Send ``total_ops`` operations evenly spaced at ``rate_per_min``, interleaved across agents
    (each agent's in order, ``@N`` resolved as the burst does)."""
    order = [(agent, i) for i in range(max(len(p) for p in plans))
             for agent, plan in zip(agents, plans) if i < len(plan)][:total_ops]
    by_agent = dict(zip(agents, plans))
    sent: dict[str, list[str]] = {agent: [] for agent in agents}
    op_ids: list[str] = []
    interval_s = 60.0 / rate_per_min
    started = time.monotonic()
    for n, (agent, i) in enumerate(order):
        delay = started + n * interval_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        op_type, payload = by_agent[agent][i]
        if isinstance(payload, dict) and str(payload.get("order", "")).startswith("@"):
            payload = {**payload, "order": sent[agent][int(payload["order"][1:])]}
        op_id = client.send(op_type, agent, payload)
        sent[agent].append(op_id)
        op_ids.append(op_id)
        if n % 50 == 0:
            log(f"steady: sent {n + 1}/{len(order)}")
    return op_ids


def profile_dirs(tmp_dir: str) -> int:
    """Chromium profile directories under ``tmp_dir`` (each live browser has one)."""
    try:
        return sum(1 for name in os.listdir(tmp_dir) if name.startswith(CHROMIUM_PROFILE_PREFIX))
    except OSError:
        return 0


class SteadySampler(threading.Thread):
    """Every ``sample_s``: the workers' memory, their heartbeats' contexts, newPage time and
    recycles, the profile directories left in ``tmp_dir``, the most logins of one agent."""

    def __init__(self, worker_pids: Callable[[], list[int]], redis_url: str, tmp_dir: str,
                 logins_max: Callable[[], int], sample_s: float = DEFAULT_SAMPLE_S) -> None:
        super().__init__(daemon=True)
        self.worker_pids = worker_pids
        self.redis_url = redis_url
        self.tmp_dir = tmp_dir
        self.logins_max = logins_max
        self.sample_s = sample_s
        self.samples: list[dict[str, Any]] = []
        self._t0 = time.monotonic()
        self._stop_event = threading.Event()

    def sample(self) -> dict[str, Any]:
        trees = [process_tree(pid) for pid in self.worker_pids()]
        client = redis.Redis.from_url(self.redis_url)
        try:
            beats = read_heartbeats(client)
        finally:
            client.close()
        new_page = [float(b["new_page_ms_p50"]) for b in beats if b.get("new_page_ms_p50") is not None]
        return {
            "t_s": round(time.monotonic() - self._t0, 1),
            "worker_rss_mb": [round(rss_bytes(t) / 2**20, 1) for t in trees],
            "worker_pss_mb": [round(pss_bytes(t) / 2**20, 1) for t in trees],
            "contexts_open": sum(int(b.get("contexts_open", 0)) for b in beats),
            "new_page_ms_p50": round(statistics.median(new_page), 1) if new_page else None,
            "browser_recycles": sum(int(b.get("browser_recycles", 0)) for b in beats),
            "profile_dirs": profile_dirs(self.tmp_dir),
            "logins_max": self.logins_max(),
        }

    def run(self) -> None:
        while not self._stop_event.wait(self.sample_s):
            try:
                self.samples.append(self.sample())
            except (OSError, redis.RedisError, ValueError):
                continue  # a sample missed (a worker restarting): the next one counts

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)


def _series(samples: list[dict[str, Any]], name: str) -> list[tuple[float, float]]:
    points = []
    for s in samples:
        value = s.get(name)
        if isinstance(value, list):
            value = sum(value) / len(value) if value else None
        if value is not None:
            points.append((float(s["t_s"]), float(value)))
    return points


def trend(points: list[tuple[float, float]]) -> dict[str, Any]:
    """First quarter's mean, last quarter's, their ratio, and the least-squares slope per hour."""
    if len(points) < 4:
        return {"first_quarter": None, "last_quarter": None, "ratio": None, "slope_per_h": None}
    quarter = max(1, len(points) // 4)
    first = statistics.fmean(v for _, v in points[:quarter])
    last = statistics.fmean(v for _, v in points[-quarter:])
    mean_t = statistics.fmean(t for t, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    var_t = sum((t - mean_t) ** 2 for t, _ in points)
    slope_s = sum((t - mean_t) * (v - mean_v) for t, v in points) / var_t if var_t else 0.0
    return {"first_quarter": round(first, 2), "last_quarter": round(last, 2),
            "ratio": round(last / first, 3) if first else None, "slope_per_h": round(slope_s * 3600, 3)}


def summary(samples: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    """The bench JSON's ``steady`` object: the configuration, the samples and their trends."""
    return {
        **config,
        "samples": samples,
        "trends": {name: trend(_series(samples, name)) for name in
                   ("worker_rss_mb", "worker_pss_mb", "new_page_ms_p50", "contexts_open", "profile_dirs")},
        "browser_recycles": samples[-1]["browser_recycles"] if samples else 0,
        "logins_per_agent_max": max((s["logins_max"] for s in samples), default=0),
    }


def total_ops(duration_s: float, rate_per_min: float) -> int:
    """How many operations a run of ``duration_s`` at ``rate_per_min`` sends (at least one)."""
    return max(1, math.floor(duration_s * rate_per_min / 60))
