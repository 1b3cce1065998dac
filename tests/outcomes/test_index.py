"""The blocked time index against a brute-force model: many blocks, backdated writes, evictions.

`MetricSeries` keeps exact sums per block and in Fenwick trees over blocks; these tests drive
it through thousands of random inserts (most backdated) and front evictions, so blocks split
and go, and compare every read with a plain sorted list and exact `Fraction` sums.
"""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from outcomes.domain import MetricType, OutcomeEvent
from outcomes.index import (
    BLOCK,
    KEY,
    SEQUENCE_SPAN,
    VALUE,
    MetricSeries,
    TenantOutcomes,
    event_key,
    stored_event,
    time_key,
    to_event,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
VALUES = [0.0, 0.1, 0.5, 1.0, 1.5, 250.0, 1e15, -3.25, 1e-300]


def _event(rng: random.Random, sequence: int, metric: MetricType = MetricType.LATENCY_MS):
    occurred = START + timedelta(seconds=rng.randint(0, 86_400 * 30))
    event = OutcomeEvent(
        id=f"outcome-{sequence}",
        tenant_id="t1",
        domain=rng.choice(["a", "b"]),
        event_type="run",
        metric_type=metric,
        value=rng.choice(VALUES),
        occurred_at=occurred,
        metadata={"n": sequence} if sequence % 3 else {},
    )
    return stored_event(event, event_key(occurred, sequence))


def _exact(values) -> Fraction:
    return sum((Fraction(v) for v in values), Fraction(0))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_series_reads_match_a_sorted_list_through_splits_backdating_and_evictions(seed):
    rng = random.Random(seed)
    series, model = MetricSeries(), []
    for sequence in range(BLOCK * 12):
        event = _event(rng, sequence)
        series.insert(event)
        model.append(event)
        if rng.random() < 0.3 and model:  # evict the oldest, as the retention cap does
            model.sort(key=lambda e: e[KEY])
            assert series.pop_oldest() == model.pop(0)
    model.sort(key=lambda e: e[KEY])
    assert len(series) == len(model) > BLOCK * 4

    assert list(series.newest_first()) == model[::-1]
    assert series.tail(37) == model[-37:]
    assert series.tail_values(len(model) + 5) == [e[VALUE] for e in model]
    for _ in range(200):
        a, b = sorted(rng.randint(0, 86_400 * 31) for _ in range(2))
        start_us, end_us = (time_key(START + timedelta(seconds=s)) for s in (a, b))
        inside = [e for e in model if start_us <= e[KEY] // SEQUENCE_SPAN < end_us]
        totals = series.totals(start_us, end_us)
        assert totals.count == len(inside)
        assert Fraction(totals.exact_total, 2**1074) == _exact(e[VALUE] for e in inside)
        assert totals.successes == sum(e[VALUE] >= 1.0 for e in inside)
        assert list(series.newest_first(start_us, end_us)) == inside[::-1]


@pytest.mark.parametrize("seed", [4, 5])
def test_series_reads_stay_exact_while_a_full_cap_evicts_on_every_write(seed):
    # The common write at the cap: the newest event so far, one eviction from the front.
    # Evictions reach the trees only when the first block goes, so read between them.
    rng = random.Random(seed)
    series, model = MetricSeries(), []
    clock = 0
    for sequence in range(BLOCK * 14):
        # First one block evicting from its front, then a cap that takes many blocks.
        cap = BLOCK // 2 if sequence < BLOCK else BLOCK * 3 + 17
        clock += rng.randint(0, 90)
        backdated = rng.random() < 0.05
        occurred = START + timedelta(seconds=clock - (rng.randint(0, 4_000) if backdated else 0))
        event = stored_event(
            OutcomeEvent(
                id=f"outcome-{sequence}",
                tenant_id="t1",
                domain="a",
                event_type="run",
                metric_type=MetricType.SUCCESS_RATE,
                value=rng.choice(VALUES),
                occurred_at=occurred,
            ),
            event_key(occurred, sequence),
        )
        series.insert(event)
        model.append(event)
        model.sort(key=lambda e: e[KEY])
        while len(model) > cap:
            assert series.pop_oldest() == model.pop(0)
        if sequence % 29 == 0:
            low = model[0][KEY] // SEQUENCE_SPAN
            high = model[-1][KEY] // SEQUENCE_SPAN + 1
            for start_us, end_us in [(low, high)] + [
                tuple(sorted(rng.randint(low, high) for _ in range(2))) for _ in range(6)
            ]:
                inside = [e for e in model if start_us <= e[KEY] // SEQUENCE_SPAN < end_us]
                totals = series.totals(start_us, end_us)
                assert totals.count == len(inside)
                assert Fraction(totals.exact_total, 2**1074) == _exact(e[VALUE] for e in inside)
                assert totals.successes == sum(e[VALUE] >= 1.0 for e in inside)
    assert len(series) == BLOCK * 3 + 17


def test_evicting_everything_then_writing_again_starts_clean():
    rng = random.Random(9)
    series = MetricSeries()
    events = [_event(rng, n) for n in range(BLOCK * 3)]
    for event in events:
        series.insert(event)
    while len(series):
        series.pop_oldest()
    assert list(series.newest_first()) == []
    assert series.totals(0, 2**60).count == 0
    series.insert(events[0])
    assert series.totals(0, 2**60).exact_total == _exact([events[0][VALUE]]) * 2**1074


def test_a_stored_event_reads_back_as_it_was_written():
    event = OutcomeEvent(
        id="outcome-1",
        tenant_id="t1",
        domain="billing",
        event_type="run",
        metric_type=MetricType.FAILURE_CLASS,
        value=0.0,
        occurred_at=datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
        metadata={"failure_class": "timeout", "nested": {"ü": [1, 2.5, None]}},
    )
    assert to_event(stored_event(event, event_key(event.occurred_at, 12345))) == event


def test_stored_events_are_not_tracked_by_the_garbage_collector():
    rng = random.Random(4)
    tenant = TenantOutcomes()
    gc.collect()
    before = len(gc.get_objects())
    for sequence in range(5_000):
        tenant.add(_event(rng, sequence, rng.choice(list(MetricType))))
    gc.collect()
    tracked = len(gc.get_objects()) - before
    # The blocks, series, tallies and counters: a few hundred objects, not one per event.
    assert tracked < 5_000 / 10, tracked
