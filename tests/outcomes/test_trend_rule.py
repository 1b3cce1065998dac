"""The trend rule of contract §3 as a pure function, on hand-computed cases."""

from __future__ import annotations

import pytest

from outcomes.domain import MetricType, TrendDirection, evaluate_trend, week_over_week

SUCCESS, LATENCY, COST = MetricType.SUCCESS_RATE, MetricType.LATENCY_MS, MetricType.COST_USD


def test_rising_success_rate_is_improving():
    # previous [0.5, 0.5] avg 0.5; current [0.6, 0.6] avg 0.6; ratio 0.1 / 0.5 = 0.2 > 0.05
    trend = evaluate_trend(metric_type=SUCCESS, values=[0.5, 0.5, 0.6, 0.6], window=20)
    assert trend.direction is TrendDirection.IMPROVING
    assert (trend.previous_avg, trend.current_avg) == pytest.approx((0.5, 0.6))
    assert trend.sample_size == 4
    assert trend.values == [0.5, 0.5, 0.6, 0.6]
    assert trend.domain == "all"
    assert trend.window == 20


def test_falling_success_rate_is_declining():
    # 0.9 -> 0.8: ratio -0.1 / 0.9 = -0.111 < -0.05
    trend = evaluate_trend(metric_type=SUCCESS, values=[0.9, 0.8], window=20)
    assert trend.direction is TrendDirection.DECLINING


def test_change_within_five_percent_is_stable():
    # 1.0 -> 1.04: ratio 0.04, inside the band
    trend = evaluate_trend(metric_type=MetricType.QUALITY_SCORE, values=[1.0, 1.04], window=20)
    assert trend.direction is TrendDirection.STABLE


def test_exactly_five_percent_is_still_stable():
    # 20 -> 21: ratio 1 / 20 = 0.05 exactly; the rule needs strictly more than 0.05
    assert evaluate_trend(metric_type=SUCCESS, values=[20.0, 21.0], window=5).direction is (
        TrendDirection.STABLE
    )
    assert evaluate_trend(metric_type=SUCCESS, values=[20.0, 19.0], window=5).direction is (
        TrendDirection.STABLE
    )
    # 20 -> 21.5: ratio 0.075
    assert evaluate_trend(metric_type=SUCCESS, values=[20.0, 21.5], window=5).direction is (
        TrendDirection.IMPROVING
    )


def test_falling_latency_is_improving():
    # 100 -> 80: delta -20, negated to +20; ratio 20 / 100 = 0.2
    trend = evaluate_trend(metric_type=LATENCY, values=[100.0, 100.0, 80.0, 80.0], window=20)
    assert trend.direction is TrendDirection.IMPROVING
    assert (trend.previous_avg, trend.current_avg) == (100.0, 80.0)


def test_rising_latency_is_declining():
    trend = evaluate_trend(metric_type=LATENCY, values=[100.0, 120.0], window=20)
    assert trend.direction is TrendDirection.DECLINING


def test_rising_cost_is_declining_and_falling_cost_improving():
    # 0.10 -> 0.20: delta +0.10 negated, ratio -1.0; the reverse is +0.5
    assert evaluate_trend(metric_type=COST, values=[0.1, 0.2], window=20).direction is (
        TrendDirection.DECLINING
    )
    assert evaluate_trend(metric_type=COST, values=[0.2, 0.1], window=20).direction is (
        TrendDirection.IMPROVING
    )


def test_zero_previous_average_divides_by_one():
    # previous 0, current 0.04: ratio 0.04 / 1.0 = 0.04 -> stable (not a division by zero)
    assert evaluate_trend(metric_type=SUCCESS, values=[0.0, 0.04], window=20).direction is (
        TrendDirection.STABLE
    )
    # previous 0, current 0.06: ratio 0.06 -> improving
    assert evaluate_trend(metric_type=SUCCESS, values=[0.0, 0.06], window=20).direction is (
        TrendDirection.IMPROVING
    )
    # latency 0 -> 0.06: delta negated, -0.06 -> declining
    assert evaluate_trend(metric_type=LATENCY, values=[0.0, 0.06], window=20).direction is (
        TrendDirection.DECLINING
    )


def test_negative_previous_average_uses_its_absolute_value():
    # -1.0 -> -0.5: delta +0.5, ratio 0.5 / |-1.0| = 0.5 -> improving
    trend = evaluate_trend(metric_type=MetricType.QUALITY_SCORE, values=[-1.0, -0.5], window=4)
    assert trend.direction is TrendDirection.IMPROVING


def test_window_keeps_only_the_last_values():
    # last 4 of [9, 9, 1, 1, 2, 2] = [1, 1, 2, 2]: 1.0 -> 2.0, improving; the 9s are ignored
    trend = evaluate_trend(metric_type=SUCCESS, values=[9, 9, 1, 1, 2, 2], window=4)
    assert trend.values == [1, 1, 2, 2]
    assert trend.sample_size == 4
    assert (trend.previous_avg, trend.current_avg) == (1.0, 2.0)
    assert trend.direction is TrendDirection.IMPROVING


def test_window_larger_than_the_data_uses_all_of_it():
    trend = evaluate_trend(metric_type=SUCCESS, values=[1.0, 2.0, 3.0], window=1000)
    assert trend.sample_size == 3
    assert trend.window == 1000


def test_odd_count_splits_at_len_floor_half():
    # len 5 -> previous [1, 2] (avg 1.5), current [3, 4, 5] (avg 4.0)
    trend = evaluate_trend(metric_type=SUCCESS, values=[1, 2, 3, 4, 5], window=20)
    assert (trend.previous_avg, trend.current_avg) == (1.5, 4.0)


def test_one_value_is_stable_with_both_averages_equal_to_it():
    trend = evaluate_trend(metric_type=LATENCY, values=[42.0], window=20)
    assert trend.direction is TrendDirection.STABLE
    assert (trend.sample_size, trend.previous_avg, trend.current_avg) == (1, 42.0, 42.0)


def test_no_values_is_stable_with_zero_averages():
    trend = evaluate_trend(metric_type=COST, values=[], window=20, domain="billing")
    assert trend.direction is TrendDirection.STABLE
    assert (trend.sample_size, trend.previous_avg, trend.current_avg) == (0, 0.0, 0.0)
    assert trend.values == []
    assert trend.domain == "billing"


def test_window_of_one_is_always_stable():
    trend = evaluate_trend(metric_type=SUCCESS, values=[0.0, 100.0], window=1)
    assert trend.direction is TrendDirection.STABLE
    assert trend.values == [100.0]


def test_week_over_week_percentage_and_zero_previous():
    assert week_over_week(metric_type=SUCCESS, current_avg=0.9, previous_avg=0.6).pct_change == (
        pytest.approx(50.0)
    )
    assert week_over_week(metric_type=SUCCESS, current_avg=-1.0, previous_avg=-2.0).pct_change == (
        pytest.approx(50.0)
    )
    assert week_over_week(metric_type=SUCCESS, current_avg=5.0, previous_avg=0.0).pct_change == 0
