"""The bench's figures computed from journal rows (pure functions, no services)."""

from __future__ import annotations

import datetime as dt

import pytest

from archibot_devtools.bench import worker_shares
from archibot_devtools.erp_time import erp_time_by_type, union_ms
from store.states import Status


def _rows(*workers: str, status: Status = Status.DONE) -> list[dict[str, object]]:
    return [{"status": status, "worker": w} for w in workers]


def test_the_smallest_process_share_of_an_even_split() -> None:
    rows = _rows("h:1", "h:1", "h:1", "h:2") + _rows("h:2", status=Status.FAILED)
    figures = worker_shares(rows, processes=2)
    assert figures["ops_by_worker"] == {"h:1": 3, "h:2": 1}
    assert figures["min_worker_share"] == 0.5  # h:2 did 1 of the 2 an even split gives it


def test_a_process_that_did_nothing_has_no_share() -> None:
    assert worker_shares(_rows("h:1", "h:1"), processes=2)["min_worker_share"] == 0.0
    assert worker_shares(_rows("h:1", "h:2"), processes=2)["min_worker_share"] == 1.0


def test_erp_time_is_the_union_of_request_intervals_within_the_window() -> None:
    # Overlapping requests count once; the parts outside the window do not count.
    intervals = [(0.5, 1.5), (1.2, 2.0), (1.4, 1.6), (3.0, 3.5), (5.0, 6.0)]
    assert union_ms(intervals, (1.0, 4.0)) == pytest.approx(1000 + 500)
    assert union_ms(intervals, (2.0, 3.0)) == 0.0
    assert union_ms([], (0.0, 1.0)) == 0.0


def _op(op_type: str, start_s: float, end_s: float, exec_ms: float, agent: str = "a1") -> dict[str, object]:
    at = dt.datetime.fromtimestamp
    return {"status": Status.DONE, "op_type": op_type, "agent": agent, "exec_ms": exec_ms,
            "run_started_at": at(start_s, dt.UTC), "finished_at": at(end_s, dt.UTC)}


def test_bot_overhead_per_type_from_single_run_operations() -> None:
    # Given a1's ERP requests and three submit-orders, one of which ran twice (exec > its window)
    times = {"a1": [{"start_s": 10.0, "end_s": 10.5}, {"start_s": 20.0, "end_s": 21.0},
                    {"start_s": 30.0, "end_s": 30.25}],
             "a2": [{"start_s": 10.0, "end_s": 12.0}]}
    rows = [_op("submit-order", 10.0, 11.0, 1000), _op("submit-order", 20.0, 22.0, 2000),
            _op("submit-order", 30.0, 31.0, 4000), _op("sync-orders", 10.0, 12.0, 2000, agent="a2")]
    # When the figures are computed
    figures = erp_time_by_type(rows, times)
    # Then the retried one is left out, and each op's overhead is its exec over its ERP time less 1
    assert figures["submit-order"]["n"] == 2
    assert figures["submit-order"]["erp_ms"] == {"p50": 500, "p95": 1000}
    assert figures["submit-order"]["bot_overhead"] == {"p50": 1.0, "p95": 1.0}
    assert figures["sync-orders"]["bot_overhead"] == {"p50": 0.0, "p95": 0.0}


def test_step_shares_per_type_with_the_unspanned_rest_as_other() -> None:
    row = _op("create-customer", 10.0, 12.0, 2000) | {"result": {"step_ms": {"navigation": 1200, "idle": 300}}}
    steps = erp_time_by_type([row], {"a1": [{"start_s": 10.0, "end_s": 11.0}]})["create-customer"]["steps"]
    assert steps == {"idle": {"p50_ms": 300, "share_p50": 0.15},
                     "navigation": {"p50_ms": 1200, "share_p50": 0.6},
                     "other": {"p50_ms": 500, "share_p50": 0.25}}
