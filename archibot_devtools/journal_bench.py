"""``archibot bench --journal``: the journal's statements against a long history.

Fills a fresh database (``ARCHIBOT_BENCH_DATABASE``, default ``archibot_journal_bench``)
with ``--done-rows`` ended operations and ``--pending-rows`` pending ones over ``--agents``
agents (generate_series, in SQL), then times the statements a worker runs on every turn:
the free-agent picker, the claim (pick + claim, rolled back each time so every sample sees
the same journal), the sweep (``lost_wakeups``), ``max_fence``; and the prune's throughput.
Prints one JSON object. ``--store DIR`` imports the ``store`` package from DIR instead
(e.g. main's, unpacked with ``git archive main store | tar -x -C DIR``), to measure before
and after a change on the same data.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from archibot.settings import Settings
from archibot_devtools.local import fresh_database

#: The database this bench drops and recreates.
JOURNAL_BENCH_DATABASE = os.environ.get("ARCHIBOT_BENCH_DATABASE", "archibot_journal_bench")
#: Seconds between consecutive ended rows: 2 M rows span ~46 days, a third past 30 days.
ENDED_EVERY_S = 2
#: The retention the prune is timed with, and its batches.
PRUNE_DAYS, PRUNE_BATCH_ROWS, PRUNE_MAX_BATCHES = 30, 5_000, 20
#: One pending row in this many is running (its agent busy); one in this many waits a backoff.
RUNNING_EVERY, BACKOFF_EVERY = 25, 7


def _import_store(store_dir: str | None) -> dict[str, Any]:
    """The store's modules the bench calls, from ``store_dir`` when given."""
    if store_dir:
        # Loaded by path: the editable install's finder would map ``store`` to this checkout
        # whatever sys.path says. Its submodules then come from the package's own folder.
        for name in [m for m in sys.modules if m == "store" or m.startswith("store.")]:
            del sys.modules[name]
        folder = os.path.join(os.path.abspath(store_dir), "store")
        spec = importlib.util.spec_from_file_location(
            "store", os.path.join(folder, "__init__.py"), submodule_search_locations=[folder])
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules["store"] = package
        spec.loader.exec_module(package)
    modules: dict[str, Any] = {name: importlib.import_module(f"store.{name}") for name in ("db", "claims", "recovery")}
    retention = importlib.util.find_spec("store.retention")
    # Before the retention existed (the editable finder would find this checkout's instead).
    in_store = retention is not None and str(retention.origin).startswith(os.path.dirname(modules["db"].__file__))
    modules["retention"] = importlib.import_module("store.retention") if in_store else None
    return modules



def fill(url: str, agents: int, done_rows: int, pending_rows: int) -> None:
    """The history and the pending work, written by SQL alone (triggers off while filling)."""
    payloads = "ARRAY[" + ", ".join(
        "'{\"lines\": [" + ", ".join("{}" for _ in range(n)) + "]}'::jsonb" for n in range(1, 6)) + "]"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute("ALTER TABLE operations DISABLE TRIGGER USER")
        conn.execute("INSERT INTO agents (agent, erp_username, password_enc)"
                     " SELECT 'agent' || g, 'u' || g, '\\x00' FROM generate_series(0, %s - 1) g", (agents,))
        # Ended rows: per agent in fence order; one in three a sync; a few failed.
        conn.execute(
            "INSERT INTO operations (id, agent, op_type, is_write, payload, status, phase, attempts,"
            " fence, exec_ms, created_at, started_at, finished_at, updated_at)"
            " SELECT gen_random_uuid(), 'agent' || (g %% %(agents)s),"
            "  CASE WHEN g %% 3 = 0 THEN 'sync-orders' ELSE 'submit-order' END, g %% 3 <> 0,"
            f"  CASE WHEN g %% 3 = 0 THEN '{{}}'::jsonb ELSE ({payloads})[1 + g %% 5] END,"
            "  CASE WHEN g %% 50 = 0 THEN 'failed' ELSE 'done' END,"
            "  CASE WHEN g %% 3 <> 0 THEN 'done' END, 1, 1 + g / %(agents)s, 500 + g %% 4000, t, t, t, t"
            " FROM generate_series(0, %(n)s - 1) g,"
            "  LATERAL (SELECT clock_timestamp() - make_interval(secs => (%(n)s - g) * %(every)s)) AS x(t)",
            {"agents": agents, "n": done_rows, "every": ENDED_EVERY_S},
        )
        top = 1 + done_rows // agents
        conn.execute(
            "INSERT INTO operations (id, agent, op_type, is_write, payload, status, fence, not_before,"
            " created_at, updated_at)"
            " SELECT gen_random_uuid(), 'agent' || (g %% %(agents)s),"
            "  CASE WHEN g %% 2 = 0 THEN 'sync-customers' ELSE 'submit-order' END, g %% 2 <> 0,"
            f"  CASE WHEN g %% 2 = 0 THEN '{{}}'::jsonb ELSE ({payloads})[1 + g %% 5] END,"
            "  CASE WHEN g %% %(running)s = 0 THEN 'running' ELSE 'queued' END,"
            "  CASE WHEN g %% %(running)s = 0 THEN %(top)s + 1 END,"
            "  CASE WHEN g %% %(backoff)s = 0 THEN clock_timestamp() + interval '1 hour' END,"
            "  clock_timestamp() - interval '10 minutes', clock_timestamp() - interval '10 minutes'"
            " FROM generate_series(0, %(n)s - 1) g",
            {"agents": agents, "n": pending_rows, "running": RUNNING_EVERY, "backoff": BACKOFF_EVERY,
             "top": top},
        )
        conn.execute("ALTER TABLE operations ENABLE TRIGGER USER")
        has_fences = conn.execute("SELECT to_regclass('agent_fences') IS NOT NULL").fetchone()
        if has_fences and has_fences[0]:
            conn.execute("INSERT INTO agent_fences (agent, fence) SELECT agent, max(fence)"
                         " FROM operations WHERE fence IS NOT NULL GROUP BY agent")
        conn.execute("VACUUM ANALYZE")


class _OneConnection:
    """A stand-in for store.db.Database whose every statement runs on one open transaction
    (the claim's samples are rolled back)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        yield self._conn


def _times_ms(call: Callable[[int], Any], samples: int) -> dict[str, float]:
    spent = []
    for i in range(samples):
        start = time.perf_counter()
        call(i)
        spent.append((time.perf_counter() - start) * 1000)
    spent.sort()
    return {"p50_ms": round(statistics.median(spent), 2),
            "p95_ms": round(spent[min(len(spent) - 1, int(len(spent) * 0.95))], 2)}


def run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    store = _import_store(args.store)
    args.agents = args.journal_agents
    url = fresh_database(settings.database_url, JOURNAL_BENCH_DATABASE)
    db = store["db"].Database(url)
    db.migrate()
    started = time.monotonic()
    fill(url, args.agents, args.done_rows, args.pending_rows)
    result: dict[str, Any] = {
        "store": args.store or "this checkout", "agents": args.agents, "done_rows": args.done_rows,
        "pending_rows": args.pending_rows, "fill_s": round(time.monotonic() - started, 1),
    }
    claims, recovery = store["claims"].Claims(db), store["recovery"].Recovery(db)
    with db.connection() as conn:
        queued = [str(r["agent"]) for r in conn.execute(
            "SELECT DISTINCT agent FROM operations WHERE status = 'queued' AND not_before IS NULL")]
    samples = args.samples
    result["picker"] = _times_ms(lambda i: claims.free_agents_by_work(4), samples)
    result["sweep"] = _times_ms(lambda i: recovery.lost_wakeups(30), samples)
    result["max_fence"] = _times_ms(lambda i: claims.max_fence(queued[i % len(queued)]), samples)
    with psycopg.connect(url, row_factory=dict_row) as tx:
        one = store["claims"].Claims(_OneConnection(tx))

        claimed = []

        def claim(i: int) -> None:
            claimed.append(one.claim_next(queued[i % len(queued)], fence=10**9 + i, worker="bench"))
            tx.rollback()

        result["claim"] = _times_ms(claim, samples)
        result["claim"]["claimed"] = sum(1 for c in claimed if c is not None)
    if store["retention"] is not None:
        start = time.perf_counter()
        pruned = store["retention"].Retention(db).prune(
            PRUNE_DAYS, batch_rows=PRUNE_BATCH_ROWS, max_batches=PRUNE_MAX_BATCHES)
        spent = time.perf_counter() - start
        result["prune"] = {"rows": pruned.deleted, "batches": pruned.batches, "s": round(spent, 2),
                           "rows_per_s": round(pruned.deleted / spent) if spent else None}
        result["picker_after_prune"] = _times_ms(lambda i: claims.free_agents_by_work(4), samples)
    db.close()
    return result


def main(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(run(args, settings)))
    return 0
