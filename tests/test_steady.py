"""The steady run's plan and trends (pure functions, no services)."""

from __future__ import annotations

from archibot_devtools.steady import steady_plans, total_ops, trend


def test_rounds_of_the_mix_keep_each_agents_references_to_its_own_orders() -> None:
    # Given a round of two operations per agent, the second naming the first
    def one_round(r: int) -> list[list[tuple[str, object]]]:
        return [[("submit-order", {"round": r}), ("send-to-verona", {"order": "@0"})] for _ in range(2)]

    # When five operations are planned over two agents
    plans = steady_plans(one_round, agents=2, total_ops=5)
    # Then whole rounds are added until there are enough, and round 1's reference points at
    # round 1's order (the agent's third operation), not round 0's
    assert [len(p) for p in plans] == [4, 4]
    assert plans[0][2] == ("submit-order", {"round": 1})
    assert plans[0][3] == ("send-to-verona", {"order": "@2"})
    assert plans[1][1] == ("send-to-verona", {"order": "@0"})


def test_a_rate_and_a_duration_give_whole_operations() -> None:
    assert total_ops(3600, 6) == 360
    assert total_ops(10, 1) == 1  # never an empty run


def test_a_flat_series_has_ratio_one_and_a_growing_one_its_slope() -> None:
    flat = [(t * 30.0, 500.0) for t in range(8)]
    assert trend(flat) == {"first_quarter": 500.0, "last_quarter": 500.0, "ratio": 1.0, "slope_per_h": 0.0}
    growing = [(t * 360.0, 100.0 + t) for t in range(8)]  # +1 every 6 min: +10 an hour
    figures = trend(growing)
    assert figures["first_quarter"] == 100.5
    assert figures["last_quarter"] == 106.5
    assert figures["slope_per_h"] == 10.0


def test_too_few_samples_give_no_trend() -> None:
    assert trend([(0.0, 1.0), (30.0, 2.0)])["ratio"] is None
