"""The one backoff helper: exponential, capped, jittered. Pure; reused everywhere."""

from __future__ import annotations

import random

DEFAULT_BACKOFF_BASE_MS = 2_000
DEFAULT_BACKOFF_MAX_MS = 30_000
#: The delay is drawn from [delay * (1 - JITTER), delay] so the cap is never exceeded
#: and agents that collided once do not collide again in lockstep.
DEFAULT_BACKOFF_JITTER = 0.25


def compute_backoff_ms(
    attempt: int,
    *,
    base_ms: int = DEFAULT_BACKOFF_BASE_MS,
    max_ms: int = DEFAULT_BACKOFF_MAX_MS,
    jitter: float = DEFAULT_BACKOFF_JITTER,
    rng: random.Random | None = None,
) -> int:
    """The delay before try ``attempt`` (0-based): base·2^attempt, capped, jittered down.

    >>> [compute_backoff_ms(n, jitter=0) for n in range(6)]
    [2000, 4000, 8000, 16000, 30000, 30000]
    """
    if attempt < 0:
        raise ValueError("attempt must be 0 or more")
    delay_ms: int = min(max_ms, base_ms * (2 ** min(attempt, 32)))
    if jitter <= 0:
        return delay_ms
    draw: float = (rng or random).random()
    return int(delay_ms * (1 - jitter * draw))
