"""The one backoff helper: 2 s, 4 s, 8 s, 16 s, capped at 30 s, jittered below the value."""

from __future__ import annotations

import random

import pytest

from archibot.backoff import compute_backoff_ms


def test_doubles_from_two_seconds_and_caps_at_thirty() -> None:
    assert [compute_backoff_ms(n, jitter=0) for n in range(7)] == [2000, 4000, 8000, 16000, 30000, 30000, 30000]


def test_jitter_stays_within_a_quarter_below_and_never_above_the_cap() -> None:
    rng = random.Random(3)
    for attempt in range(8):
        nominal = compute_backoff_ms(attempt, jitter=0)
        draws = [compute_backoff_ms(attempt, rng=rng) for _ in range(200)]
        assert all(nominal * 0.75 <= d <= nominal for d in draws)
        assert len(set(draws)) > 50  # really jittered


def test_negative_attempt_is_refused() -> None:
    with pytest.raises(ValueError):
        compute_backoff_ms(-1)
