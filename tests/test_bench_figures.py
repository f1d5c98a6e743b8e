"""The bench's figures computed from journal rows (pure functions, no services)."""

from __future__ import annotations

from archibot_devtools.bench import worker_shares
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
