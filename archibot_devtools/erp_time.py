"""What the ERP costs versus what the bot costs, per operation type (bench JSON ``erp_time_by_type``).

An operation's ERP time is the part of its run window during which the simulator was
answering one of its agent's requests (``GET /__sim/request-times``): the union of those
request intervals clipped to the window, so that overlapping requests count once. Its bot
overhead is ``exec_ms / erp_ms - 1``: the time spent in Chromium, the worker and the journal
for each millisecond the ERP spent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from erp.steps import RESULT_FIELD
from store.states import Status

#: The part of an operation's run no step span covered (the worker, the journal, page scripts).
UNSPANNED = "other"

#: An operation whose ``exec_ms`` differs from its last run window by more than this ran more
#: than once (retried, handed back, requeued): its earlier runs' windows are not in the
#: journal, so it is left out rather than measured against part of its ERP time.
SINGLE_RUN_TOLERANCE_MS = 50.0

Interval = tuple[float, float]


def union_ms(intervals: Iterable[Interval], window: Interval) -> float:
    """The length in ms of the union of ``intervals`` (seconds) clipped to ``window``."""
    low, high = window
    clipped = sorted((max(a, low), min(b, high)) for a, b in intervals if b > low and a < high)
    total_s = 0.0
    start = end = None
    for a, b in clipped:
        if end is None or a > end:
            if end is not None and start is not None:
                total_s += end - start
            start, end = a, b
        else:
            end = max(end, b)
    if end is not None and start is not None:
        total_s += end - start
    return total_s * 1000


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of ``values`` (0.0 for none), as the bench's other figures."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _p50_p95(values: Sequence[float], digits: int) -> dict[str, float]:
    return {"p50": round(percentile(values, 0.5), digits), "p95": round(percentile(values, 0.95), digits)}


def single_run_window(row: dict[str, Any]) -> Interval | None:
    """A done operation's one run window in epoch seconds, or None if it ran more than once."""
    if row["status"] != Status.DONE or row["run_started_at"] is None or row["finished_at"] is None:
        return None
    window = (row["run_started_at"].timestamp(), row["finished_at"].timestamp())
    if abs((window[1] - window[0]) * 1000 - float(row["exec_ms"])) > SINGLE_RUN_TOLERANCE_MS:
        return None
    return window


def erp_time_by_type(
    rows: Sequence[dict[str, Any]], request_times: dict[str, list[dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """Per operation type: ``n`` (single-run done operations measured), ``exec_ms``,
    ``erp_ms`` and ``bot_overhead`` (each operation's ``exec/erp - 1``), p50 and p95; and
    ``steps``: each step's self ms (p50) and share of exec (p50), ``other`` the unspanned rest.

    ``request_times`` is ``/__sim/request-times``'s ``agents``: {agent: [{start_s, end_s}, …]}.
    """
    intervals = {
        agent: [(float(t["start_s"]), float(t["end_s"])) for t in times]
        for agent, times in request_times.items()
    }
    exec_ms: dict[str, list[float]] = defaultdict(list)
    step_ms: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    step_share: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    erp_ms: dict[str, list[float]] = defaultdict(list)
    overhead: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        window = single_run_window(row)
        if window is None:
            continue
        erp = union_ms(intervals.get(str(row["agent"]), []), window)
        op_type = str(row["op_type"])
        exec_ms[op_type].append(float(row["exec_ms"]))
        erp_ms[op_type].append(erp)
        if erp > 0:
            overhead[op_type].append(float(row["exec_ms"]) / erp - 1)
        spans = (row.get("result") or {}).get(RESULT_FIELD)
        if isinstance(spans, dict) and row["exec_ms"]:
            spans = {**spans, UNSPANNED: max(0.0, float(row["exec_ms"]) - sum(spans.values()))}
            for name, ms in spans.items():
                step_ms[op_type][name].append(float(ms))
                step_share[op_type][name].append(float(ms) / float(row["exec_ms"]))
    return {
        t: {
            "n": len(exec_ms[t]),
            "exec_ms": _p50_p95(exec_ms[t], 0),
            "erp_ms": _p50_p95(erp_ms[t], 0),
            "bot_overhead": _p50_p95(overhead[t], 3),
            # Self time per step of the ops that recorded them (erp/steps.py) and its share of exec.
            "steps": {
                name: {"p50_ms": round(percentile(ms, 0.5)),
                       "share_p50": round(percentile(step_share[t][name], 0.5), 3)}
                for name, ms in sorted(step_ms[t].items())
            },
        }
        for t in sorted(exec_ms)
    }
