"""Prometheus metrics computed at scrape time, so they are right across processes and hosts.

Journal-derived figures come from PostgreSQL (every API process sees the same rows;
store/reports.py reads them);
per-worker figures come from the heartbeats the workers keep in Redis. Nothing is an
in-process counter, so any API process answers for the whole deployment.

    archibot_operations{type,status}                     operations in the journal
    archibot_operation_duration_seconds{type}            sent → ended, done operations (histogram)
    archibot_queue_depth{agent}                          operations queued or running
    archibot_oldest_pending_age_seconds                  the oldest queued or running operation
    archibot_operation_retries_total{type}               attempts beyond the first
    archibot_requeues_total{type}                        busy-agent requeues
    archibot_logins_total{agent}                         ERP logins the ERP could see
    archibot_login_budget_left{agent}                    logins left in the agent's budget
    archibot_login_budget_spent{agent}                   1 while the agent's budget is spent
                                                         (its operations wait): an alarm
    archibot_login_budget_address_left{window}           logins left to all agents together
                                                         (window: day, minute)
    archibot_login_budget_address_spent                  1 while the address's budget is spent
    archibot_erp_errors_total{kind}                      failed operations by kind of error
    archibot_workers                                     worker processes with a live heartbeat
    archibot_worker_browser_contexts{worker}             contexts open in the worker's Chromium
    archibot_worker_chromium_rss_bytes{worker}           RSS of the worker's Chromium tree
    archibot_worker_rss_bytes{worker}                    RSS of the worker process itself
    archibot_webhook_deliveries_pending                  terminal statuses not yet delivered
                                                         (only with ARCHIBOT_WEBHOOK_URL set)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from archibot.api.webhooks import DEFAULT_MAX_AGE_S
from archibot.heartbeats import read_heartbeats
from store.db import Database
from store.reports import Reports

log = logging.getLogger("archibot.api.metrics")

#: Operation duration buckets (seconds): ERP operations take seconds, syncs minutes.
DURATION_BUCKETS_S = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800)


def login_budget_metrics(logins: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    """The login budgets as gauges (``Client.logins()``): what is left, and which are spent."""
    left = GaugeMetricFamily("archibot_login_budget_left",
                             "ERP logins left in the agent's login budget", labels=["agent"])
    spent = GaugeMetricFamily("archibot_login_budget_spent",
                              "1 while the agent's login budget is spent (its operations wait)",
                              labels=["agent"])
    for name, v in logins["budgets"].items():
        if v["left"] is not None:
            left.add_metric([name], v["left"])
        spent.add_metric([name], 1 if v["spent_until"] is not None else 0)
    yield left
    yield spent
    address = logins["address"]
    address_left = GaugeMetricFamily("archibot_login_budget_address_left",
                                     "ERP logins left to all agents together", labels=["window"])
    for window, used, budget in (("day", address["used"], address["budget"]),
                                 ("minute", address["used_minute"], address["budget_minute"])):
        if budget:
            address_left.add_metric([window], max(0, budget - used))
    yield address_left
    yield GaugeMetricFamily("archibot_login_budget_address_spent",
                            "1 while the address's login budget is spent",
                            value=1 if address["spent_until"] is not None else 0)


class ArchibotCollector(Collector):
    """Collects every archibot_* metric from PostgreSQL and Redis on each scrape."""

    def __init__(self, db: Database, redis_client: redis.Redis, *, webhooks: bool,
                 logins: Callable[[], dict[str, Any]] | None = None) -> None:
        self._reports = Reports(db)
        self._redis = redis_client
        self._webhooks = webhooks
        self._logins = logins

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        yield from self._journal()
        if self._logins is not None:
            yield from login_budget_metrics(self._logins())
        yield from self._workers()

    def _journal(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        figures = self._reports.journal_figures(DURATION_BUCKETS_S, DEFAULT_MAX_AGE_S)
        by_status, durations, depth = figures.by_status, figures.durations, figures.depth

        ops = GaugeMetricFamily("archibot_operations", "Operations in the journal", labels=["type", "status"])
        retries = CounterMetricFamily("archibot_operation_retries", "Attempts beyond the first", labels=["type"])
        requeues = CounterMetricFamily("archibot_requeues", "Busy-agent requeues", labels=["type"])
        retry_sum: dict[str, int] = {}
        requeue_sum: dict[str, int] = {}
        for r in by_status:
            ops.add_metric([r["op_type"], r["status"]], int(r["n"]))
            retry_sum[r["op_type"]] = retry_sum.get(r["op_type"], 0) + int(r["retries"] or 0)
            requeue_sum[r["op_type"]] = requeue_sum.get(r["op_type"], 0) + int(r["requeues"] or 0)
        for op_type in sorted(retry_sum):
            retries.add_metric([op_type], retry_sum[op_type])
            requeues.add_metric([op_type], requeue_sum[op_type])
        yield ops
        yield retries
        yield requeues

        hist = HistogramMetricFamily(
            "archibot_operation_duration_seconds", "Sent to done, per type", labels=["type"]
        )
        for r in durations:
            buckets = [(f"{b:g}", int(r[f"b{i}"])) for i, b in enumerate(DURATION_BUCKETS_S)]
            buckets.append(("+Inf", int(r["n"])))
            hist.add_metric([r["op_type"]], buckets, float(r["total"]))
        yield hist

        queue = GaugeMetricFamily("archibot_queue_depth", "Operations queued or running", labels=["agent"])
        for r in depth:
            queue.add_metric([r["agent"]], int(r["n"]))
        yield queue
        yield GaugeMetricFamily(
            "archibot_oldest_pending_age_seconds", "Age of the oldest queued or running operation",
            value=figures.oldest_pending_s,
        )
        login_family = CounterMetricFamily("archibot_logins", "ERP logins", labels=["agent"])
        for r in figures.logins:
            login_family.add_metric([r["agent"]], int(r["n"]))
        yield login_family
        error_family = CounterMetricFamily(
            "archibot_erp_errors", "Failed operations by kind of error", labels=["kind"]
        )
        for r in figures.errors:
            error_family.add_metric([r["kind"]], int(r["n"]))
        yield error_family
        if self._webhooks:
            yield GaugeMetricFamily(
                "archibot_webhook_deliveries_pending", "Terminal statuses not yet delivered",
                value=figures.webhooks_pending,
            )

    def _workers(self) -> Iterator[GaugeMetricFamily]:
        beats = read_heartbeats(self._redis)
        yield GaugeMetricFamily("archibot_workers", "Worker processes with a live heartbeat", value=len(beats))
        contexts = GaugeMetricFamily(
            "archibot_worker_browser_contexts", "Browser contexts open", labels=["worker"]
        )
        chromium = GaugeMetricFamily(
            "archibot_worker_chromium_rss_bytes", "RSS of the worker's Chromium", labels=["worker"]
        )
        own = GaugeMetricFamily("archibot_worker_rss_bytes", "RSS of the worker process", labels=["worker"])
        for beat in beats:
            name = str(beat.get("worker"))
            contexts.add_metric([name], float(beat.get("contexts_open", 0)))
            chromium.add_metric([name], float(beat.get("chromium_rss_bytes", 0)))
            own.add_metric([name], float(beat.get("worker_rss_bytes", 0)))
        yield contexts
        yield chromium
        yield own
