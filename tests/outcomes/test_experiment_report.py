"""The experiment report (contract §8): statistics checked against hand formulas.

Expected figures are computed here from their textbook definitions (mean, sample stddev,
Student's t distribution integrated numerically, Welch's degrees of freedom), never by the
code under test nor by scipy. Runs on both state backends.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import pytest

from outcomes.domain import MetricType, VariantStats
from outcomes.experiments import assign_variant, compare, get_experiment_service

from .test_experiments_api import EXPERIMENTS, experiment_url

# --- hand formulas --------------------------------------------------------------------------


def hand_mean(values: list[float]) -> float:
    return sum(values) / len(values)


def hand_stddev(values: list[float]) -> float:
    mean = hand_mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def t_pdf(x: float, df: float) -> float:
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1) / 2 * math.log1p(x * x / df))


def t_central_mass(t: float, df: float, steps: int = 20_000) -> float:
    """P(|T| <= t) by Simpson's rule over [0, t] (twice the integral of the pdf)."""
    h = t / steps
    total = t_pdf(0.0, df) + t_pdf(t, df)
    total += sum((4 if i % 2 else 2) * t_pdf(i * h, df) for i in range(1, steps))
    return 2 * total * h / 3


def two_sided_p(t: float, df: float) -> float:
    return 1 - t_central_mass(abs(t), df)


def t_critical(df: float, confidence: float = 0.95) -> float:
    low, high = 0.0, 100.0
    for _ in range(60):  # bisection on the central mass
        middle = (low + high) / 2
        if t_central_mass(middle, df, steps=4_000) < confidence:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def welch(variant: list[float], control: list[float]) -> tuple[float, float]:
    """(t, Welch-Satterthwaite degrees of freedom)."""
    a = hand_stddev(variant) ** 2 / len(variant)
    b = hand_stddev(control) ** 2 / len(control)
    t = (hand_mean(variant) - hand_mean(control)) / math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / (len(variant) - 1) + b * b / (len(control) - 1))
    return t, df


# --- helpers --------------------------------------------------------------------------------


def subjects_by_variant(key: str, weights: list[float], count: int) -> list[list[str]]:
    """`count` subject ids for each variant (found by the assignment hash)."""
    found: list[list[str]] = [[] for _ in weights]
    index = 0
    while any(len(group) < count for group in found):
        subject = f"s{index}"
        group = found[assign_variant(key, subject, weights)]
        if len(group) < count:
            group.append(subject)
        index += 1
    return found


def feed(
    client, key: str, metric: str, samples: list[list[float]], weights: list[float] | None = None
) -> None:
    """Record each variant's values as events of subjects the hash puts in that variant."""
    weights = weights or [1.0] * len(samples)
    groups = subjects_by_variant(key, weights, max(len(values) for values in samples))
    for variant, values in enumerate(samples):
        for subject, value in zip(groups[variant], values, strict=False):
            response = client.post(
                "/v1/outcomes/events",
                {
                    "domain": "agents",
                    "event_type": "run",
                    "metric_type": metric,
                    "value": value,
                    "metadata": {"experiment": key, "subject_id": subject},
                },
                format="json",
            )
            assert response.status_code == 201, response.content


def create(client, key: str, metrics: list[str] | None = None, names=("control", "new")) -> None:
    body: dict[str, Any] = {"key": key, "variants": [{"name": n, "weight": 1} for n in names]}
    if metrics:
        body["metric_types"] = metrics
    response = client.post(EXPERIMENTS, body, format="json")
    assert response.status_code == 201, response.content


def get_report(client, key: str) -> dict[str, Any]:
    response = client.get(experiment_url(key, "/report"))
    assert response.status_code == 200, response.content
    # Strict JSON: NaN or Infinity would not parse.
    return json.loads(response.content, parse_constant=pytest.fail)


def metric_entry(report: dict[str, Any], metric: str) -> dict[str, Any]:
    return next(m for m in report["metrics"] if m["metric_type"] == metric)


def spread(center: float, width: float, n: int) -> list[float]:
    """n evenly spread values around `center` (deterministic, with variance)."""
    return [center + width * ((i % 10) - 4.5) / 4.5 for i in range(n)]


# --- the hand-computed case -----------------------------------------------------------------


def test_a_small_case_matches_the_hand_formulas(tenant_a):
    control = [1.0, 2.0, 3.0, 4.0, 5.0]
    variant = [5.0, 6.0, 7.0, 8.0, 9.0, 7.0]
    create(tenant_a, "hand", ["quality_score"])
    feed(tenant_a, "hand", "quality_score", [control, variant])
    report = get_report(tenant_a, "hand")
    assert report["experiment"] == "hand"
    entry = metric_entry(report, "quality_score")
    assert [m["metric_type"] for m in report["metrics"]] == ["quality_score"]
    for row, values, name in zip(
        entry["variants"], (control, variant), ("control", "new"), strict=True
    ):
        assert row["variant"] == name
        assert row["n"] == len(values)
        assert row["mean"] == pytest.approx(hand_mean(values), rel=1e-12)
        assert row["stddev"] == pytest.approx(hand_stddev(values), rel=1e-12)
        half = t_critical(len(values) - 1) * hand_stddev(values) / math.sqrt(len(values))
        assert row["ci95_low"] == pytest.approx(hand_mean(values) - half, rel=1e-6)
        assert row["ci95_high"] == pytest.approx(hand_mean(values) + half, rel=1e-6)
    # By hand: control mean 3, sd sqrt(10/4); variant mean 7, sd sqrt(10/5).
    assert entry["variants"][0]["stddev"] == pytest.approx(math.sqrt(2.5), rel=1e-12)
    assert entry["variants"][1]["stddev"] == pytest.approx(math.sqrt(2.0), rel=1e-12)
    (comparison,) = entry["comparisons"]
    t, df = welch(variant, control)
    assert comparison["variant"] == "new" and comparison["against"] == "control"
    assert comparison["difference"] == pytest.approx(4.0, rel=1e-12)
    assert comparison["relative_lift"] == pytest.approx(4 / 3, rel=1e-12)
    assert comparison["p_value"] == pytest.approx(two_sided_p(t, df), rel=1e-6)
    assert comparison["p_value"] < 0.05
    # Significant, but fewer than 30 samples on each side: no verdict.
    assert comparison["verdict"] == "inconclusive"


def test_default_metrics_are_the_four_numeric_ones_in_order_with_variants_declared(tenant_a):
    create(tenant_a, "defaults", names=("b-first", "a-second", "c-third"))
    report = get_report(tenant_a, "defaults")
    assert [m["metric_type"] for m in report["metrics"]] == [
        "success_rate",
        "quality_score",
        "latency_ms",
        "cost_usd",
    ]
    empty = {
        "n": 0,
        "mean": None,
        "stddev": None,
        "ci95_low": None,
        "ci95_high": None,
    }
    for entry in report["metrics"]:
        assert entry["variants"] == [
            {"variant": name, **empty} for name in ("b-first", "a-second", "c-third")
        ]
        assert entry["comparisons"] == [
            {
                "variant": name,
                "against": "b-first",
                "difference": None,
                "relative_lift": None,
                "p_value": None,
                "verdict": "inconclusive",
            }
            for name in ("a-second", "c-third")
        ]


# --- verdicts -------------------------------------------------------------------------------


def test_identical_distributions_are_inconclusive(tenant_a):
    values = spread(0.7, 0.2, 40)
    create(tenant_a, "same", ["success_rate"])
    feed(tenant_a, "same", "success_rate", [values, values])
    (comparison,) = metric_entry(get_report(tenant_a, "same"), "success_rate")["comparisons"]
    assert comparison["difference"] == 0.0
    assert comparison["p_value"] == pytest.approx(1.0)
    assert comparison["verdict"] == "inconclusive"


@pytest.mark.parametrize(
    ("metric", "control_center", "variant_center", "verdict"),
    [
        ("success_rate", 0.5, 0.8, "better"),  # higher success is better
        ("success_rate", 0.8, 0.5, "worse"),
        ("latency_ms", 200.0, 300.0, "worse"),  # higher latency is worse
        ("latency_ms", 300.0, 200.0, "better"),
        ("cost_usd", 0.5, 0.3, "better"),  # lower cost is better
        ("cost_usd", 0.3, 0.5, "worse"),
    ],
)
def test_a_clear_shift_is_judged_by_the_metrics_direction(
    tenant_a, metric, control_center, variant_center, verdict
):
    width = abs(variant_center - control_center) / 4
    control, variant = spread(control_center, width, 35), spread(variant_center, width, 35)
    create(tenant_a, "shift", [metric])
    feed(tenant_a, "shift", metric, [control, variant])
    entry = metric_entry(get_report(tenant_a, "shift"), metric)
    (comparison,) = entry["comparisons"]
    t, df = welch(variant, control)
    assert comparison["p_value"] == pytest.approx(two_sided_p(t, df), abs=1e-9)
    assert comparison["p_value"] < 0.05
    assert comparison["difference"] == pytest.approx(variant_center - control_center)
    assert comparison["verdict"] == verdict


def test_fewer_than_30_samples_is_inconclusive_even_when_significant(tenant_a):
    create(tenant_a, "small", ["latency_ms"])
    feed(tenant_a, "small", "latency_ms", [spread(100, 5, 29), spread(300, 5, 40)])
    entry = metric_entry(get_report(tenant_a, "small"), "latency_ms")
    assert [row["n"] for row in entry["variants"]] == [29, 40]
    (comparison,) = entry["comparisons"]
    assert comparison["p_value"] < 1e-10
    assert comparison["verdict"] == "inconclusive"


def test_one_sample_has_no_stddev_interval_or_p_value(tenant_a):
    create(tenant_a, "single", ["cost_usd"])
    feed(tenant_a, "single", "cost_usd", [[2.0], [3.0, 5.0]])
    entry = metric_entry(get_report(tenant_a, "single"), "cost_usd")
    control, variant = entry["variants"]
    assert control == {
        "variant": "control",
        "n": 1,
        "mean": 2.0,
        "stddev": None,
        "ci95_low": None,
        "ci95_high": None,
    }
    assert (variant["n"], variant["mean"], variant["stddev"]) == (2, 4.0, math.sqrt(2))
    (comparison,) = entry["comparisons"]
    assert comparison["difference"] == 2.0
    assert comparison["relative_lift"] == 1.0
    assert comparison["p_value"] is None
    assert comparison["verdict"] == "inconclusive"


def test_no_variance_on_either_side_has_no_p_value_and_a_zero_control_no_lift(tenant_a):
    create(tenant_a, "flat", ["success_rate"])
    feed(tenant_a, "flat", "success_rate", [[0.0] * 31, [1.0] * 31])
    entry = metric_entry(get_report(tenant_a, "flat"), "success_rate")
    assert [(row["stddev"], row["ci95_low"], row["ci95_high"]) for row in entry["variants"]] == [
        (0.0, 0.0, 0.0),
        (0.0, 1.0, 1.0),
    ]
    (comparison,) = entry["comparisons"]
    assert (comparison["difference"], comparison["relative_lift"]) == (1.0, None)
    assert (comparison["p_value"], comparison["verdict"]) == (None, "inconclusive")


def test_extreme_values_keep_every_figure_finite(tenant_a):
    create(tenant_a, "extreme", ["cost_usd"])
    feed(
        tenant_a,
        "extreme",
        "cost_usd",
        [[1e15, -1e15, 1e15, 0.1], [-1e15, -1e15, 1e-300, 1e15]],
    )
    entry = metric_entry(get_report(tenant_a, "extreme"), "cost_usd")
    figures = [
        value
        for row in entry["variants"] + entry["comparisons"]
        for value in row.values()
        if isinstance(value, float)
    ]
    assert figures and all(math.isfinite(value) for value in figures)
    # fsum-exact: 1e15 - 1e15 + 1e15 + 0.1 keeps its 0.1.
    assert entry["variants"][0]["mean"] == (1e15 + 0.1) / 4


def test_the_comparison_of_stats_directly_is_direction_aware():
    control = VariantStats(variant="a", n=50, mean=10.0, stddev=1.0, ci95_low=None, ci95_high=None)
    lower = VariantStats(variant="b", n=50, mean=9.0, stddev=1.0, ci95_low=None, ci95_high=None)
    assert compare(MetricType.LATENCY_MS, lower, control).verdict == "better"
    assert compare(MetricType.COST_USD, lower, control).verdict == "better"
    assert compare(MetricType.QUALITY_SCORE, lower, control).verdict == "worse"
    assert compare(MetricType.SUCCESS_RATE, lower, control).verdict == "worse"


# --- assignment weights ---------------------------------------------------------------------


@pytest.mark.parametrize("weights", [[1.0, 1.0], [1.0, 3.0], [0.2, 0.3, 0.5], [5, 1, 1, 1, 2]])
def test_weights_are_honoured_within_tolerance_over_10000_subjects(weights):
    counts = Counter(assign_variant("weights-test", f"user-{i}", weights) for i in range(10_000))
    total = sum(weights)
    for index, weight in enumerate(weights):
        # 4 standard deviations of a binomial share at n = 10,000 is at most 0.02.
        assert abs(counts[index] / 10_000 - weight / total) < 0.02, (index, counts)


def test_assignment_is_deterministic_and_depends_on_key_and_subject():
    first = [assign_variant("k1", f"u{i}", [1, 1]) for i in range(200)]
    assert first == [assign_variant("k1", f"u{i}", [1, 1]) for i in range(200)]
    assert first != [assign_variant("k2", f"u{i}", [1, 1]) for i in range(200)]


def test_report_cost_does_not_read_the_tenants_other_events(tenant_a):
    service = get_experiment_service()
    create(tenant_a, "indexed", ["success_rate"])
    for index in range(50):  # events of no experiment: never observations
        response = tenant_a.post(
            "/v1/outcomes/events",
            {"domain": "d", "event_type": "e", "metric_type": "success_rate", "value": index},
            format="json",
        )
        assert response.status_code == 201
    feed(tenant_a, "indexed", "success_rate", [[1.0], [0.0]])
    samples = service._store.observations(
        tenant_id="tenant-a", key="indexed", start_us=None, end_us=None
    )
    assert dict(samples) == {
        (MetricType.SUCCESS_RATE, 0): [1.0],
        (MetricType.SUCCESS_RATE, 1): [0.0],
    }
