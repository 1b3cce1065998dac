"""The indexes the trend maths reads: one tenant's events ordered by occurred_at, and counters.

`OutcomesService` owns one `TenantOutcomes` per tenant and uses it under its lock; nothing
here locks, reads settings or knows about other tenants. Every structure is kept so that a
read costs O(rows returned + log n), never a walk over the tenant's whole history:

- `Timeline`: events sorted by `(occurred_at, seq)` (bisect insert, oldest at index 0);
- `MetricSeries`: a timeline of one metric (optionally one domain) with running sums, so the
  average and success count of any occurred_at range are two bisects and a subtraction;
- `Tally`: running counts (domains, event types, metrics, failure modes) for the summary.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice
from typing import TypeVar

from .domain import SUCCESS_THRESHOLD, MetricType, OutcomeEvent, failure_class_of

T = TypeVar("T")
EventKey = tuple[int, int]  # (occurred_at in microseconds since the epoch, record sequence)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def time_key(moment: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch (exact, unlike a float)."""
    return (moment - _EPOCH) // _MICROSECOND


def duration_key(span: timedelta) -> int:
    """A duration in whole microseconds, the unit of `time_key`."""
    return span // _MICROSECOND


class Timeline:
    """Events ordered by (occurred_at, seq); insert is a bisect, the oldest is at index 0."""

    __slots__ = ("_events", "_keys")

    def __init__(self) -> None:
        self._keys: list[EventKey] = []
        self._events: list[OutcomeEvent] = []

    def __len__(self) -> int:
        return len(self._keys)

    def insert(self, key: EventKey, event: OutcomeEvent) -> int:
        # Events mostly arrive in time order, so the common case is an append.
        position = len(self._keys)
        if position and key < self._keys[-1]:
            position = bisect_left(self._keys, key)
        self._keys.insert(position, key)
        self._events.insert(position, event)
        return position

    def pop_oldest(self) -> OutcomeEvent:
        del self._keys[0]
        return self._events.pop(0)

    def newest_key(self) -> EventKey | None:
        return self._keys[-1] if self._keys else None

    def span(self, start_us: int | None, end_us: int | None) -> tuple[int, int]:
        """Positions [lo, hi) of the events with start_us <= occurred_at < end_us."""
        lo = 0 if start_us is None else bisect_left(self._keys, (start_us,))
        hi = len(self._keys) if end_us is None else bisect_left(self._keys, (end_us,))
        return lo, max(lo, hi)

    def newest_first(
        self, start_us: int | None = None, end_us: int | None = None
    ) -> Iterator[tuple[EventKey, OutcomeEvent]]:
        lo, hi = self.span(start_us, end_us)
        keys, events = self._keys, self._events
        return ((keys[i], events[i]) for i in range(hi - 1, lo - 1, -1))


@dataclass(frozen=True, slots=True)
class RangeTotals:
    """What a range of one metric adds up to: how many values, their sum, how many >= 1.0."""

    count: int = 0
    total: float = 0.0
    successes: int = 0

    def __add__(self, other: RangeTotals) -> RangeTotals:
        return RangeTotals(
            self.count + other.count, self.total + other.total, self.successes + other.successes
        )

    @property
    def average(self) -> float:
        return self.total / self.count if self.count else 0.0


class MetricSeries(Timeline):
    """A timeline of one metric with prefix sums of its values and of its successes.

    `_sums[i]` is the sum of every value up to position i, counted from `_sum_base` (what
    evicted values added up to), so a range sum is a subtraction. An out-of-order insert
    shifts the later prefixes like `list.insert` shifts the later items; the prefixes are
    recomputed from the values after as many evictions as there are events, so float
    error never piles up over a long-running process.
    """

    __slots__ = ("_evictions", "_success_base", "_successes", "_sum_base", "_sums")

    def __init__(self) -> None:
        super().__init__()
        self._sums: list[float] = []
        self._successes: list[int] = []
        self._sum_base = 0.0
        self._success_base = 0
        self._evictions = 0

    def insert(self, key: EventKey, event: OutcomeEvent) -> int:
        position = super().insert(key, event)
        value = event.value
        success = 1 if value >= SUCCESS_THRESHOLD else 0
        before_sum = self._sums[position - 1] if position else self._sum_base
        before_successes = self._successes[position - 1] if position else self._success_base
        self._sums.insert(position, before_sum + value)
        self._successes.insert(position, before_successes + success)
        if position + 1 < len(self._sums):
            later = position + 1
            self._sums[later:] = [s + value for s in self._sums[later:]]
            if success:
                self._successes[later:] = [s + 1 for s in self._successes[later:]]
        return position

    def pop_oldest(self) -> OutcomeEvent:
        event = super().pop_oldest()
        self._sum_base = self._sums.pop(0)
        self._success_base = self._successes.pop(0)
        self._evictions += 1
        if self._evictions >= len(self._sums):
            self._recompute_prefixes()
        return event

    def _recompute_prefixes(self) -> None:
        values = [event.value for event in self._events]
        self._sums = list(accumulate(values))
        self._successes = list(accumulate(1 if v >= SUCCESS_THRESHOLD else 0 for v in values))
        self._sum_base, self._success_base, self._evictions = 0.0, 0, 0

    def tail(self, count: int) -> list[tuple[EventKey, float]]:
        """The last `count` (key, value) pairs, oldest first."""
        start = max(0, len(self._keys) - count)
        return list(zip(self._keys[start:], self.tail_values(count), strict=True))

    def tail_values(self, count: int) -> list[float]:
        """The last `count` values, oldest first."""
        return [event.value for event in self._events[max(0, len(self._events) - count) :]]

    def totals(self, start_us: int, end_us: int) -> RangeTotals:
        """Count, sum and successes of the values with start_us <= occurred_at < end_us."""
        lo, hi = self.span(start_us, end_us)
        if lo == hi:
            return RangeTotals()
        sum_before = self._sums[lo - 1] if lo else self._sum_base
        successes_before = self._successes[lo - 1] if lo else self._success_base
        return RangeTotals(
            count=hi - lo,
            total=self._sums[hi - 1] - sum_before,
            successes=self._successes[hi - 1] - successes_before,
        )


class Tally:
    """Running counts over a set of events, for the dashboard summary and failure modes."""

    __slots__ = ("domains", "event_types", "failure_modes", "metrics", "total")

    def __init__(self) -> None:
        self.total = 0
        self.domains: Counter[str] = Counter()
        self.event_types: Counter[str] = Counter()
        self.metrics: Counter[str] = Counter()
        self.failure_modes: Counter[str] = Counter()

    def add(self, event: OutcomeEvent) -> None:
        self.total += 1
        self.domains[event.domain] += 1
        self.event_types[event.event_type] += 1
        self.metrics[event.metric_type] += 1
        if event.metric_type is MetricType.FAILURE_CLASS:
            self.failure_modes[failure_class_of(event)] += 1

    def remove(self, event: OutcomeEvent) -> None:
        self.total -= 1
        _decrement(self.domains, event.domain)
        _decrement(self.event_types, event.event_type)
        _decrement(self.metrics, event.metric_type)
        if event.metric_type is MetricType.FAILURE_CLASS:
            _decrement(self.failure_modes, failure_class_of(event))

    def merge(self, other: Tally) -> None:
        self.total += other.total
        self.domains.update(other.domains)
        self.event_types.update(other.event_types)
        self.metrics.update(other.metrics)
        self.failure_modes.update(other.failure_modes)


def _decrement(counter: Counter[str], key: str) -> None:
    # Drop a key at zero so the summary never lists a domain or event type with no events.
    remaining = counter[key] - 1
    if remaining > 0:
        counter[key] = remaining
    else:
        del counter[key]


class TenantOutcomes:
    """Every index of one tenant: all events, per metric, per metric+domain, and tallies."""

    __slots__ = ("by_metric", "by_metric_domain", "domain_tallies", "tally", "timeline")

    def __init__(self) -> None:
        self.timeline = Timeline()
        self.by_metric: dict[MetricType, MetricSeries] = {}
        self.by_metric_domain: dict[tuple[MetricType, str], MetricSeries] = {}
        self.tally = Tally()
        self.domain_tallies: dict[str, Tally] = {}

    def __len__(self) -> int:
        return len(self.timeline)

    def add(self, key: EventKey, event: OutcomeEvent) -> None:
        metric, domain = event.metric_type, event.domain
        self.timeline.insert(key, event)
        _get_or_create(self.by_metric, metric, MetricSeries).insert(key, event)
        _get_or_create(self.by_metric_domain, (metric, domain), MetricSeries).insert(key, event)
        self.tally.add(event)
        _get_or_create(self.domain_tallies, domain, Tally).add(event)

    def evict_oldest(self) -> OutcomeEvent:
        """Drop the oldest event from every index and counter (it is the oldest in each)."""
        event = self.timeline.pop_oldest()
        metric, domain = event.metric_type, event.domain
        for index, series_key in (
            (self.by_metric, metric),
            (self.by_metric_domain, (metric, domain)),
        ):
            series = index[series_key]
            series.pop_oldest()
            if not series:
                del index[series_key]
        self.tally.remove(event)
        domain_tally = self.domain_tallies[domain]
        domain_tally.remove(event)
        if not domain_tally.total:
            del self.domain_tallies[domain]
        return event

    def series(self, metric: MetricType, domain: str | None = None) -> MetricSeries | None:
        if domain is None:
            return self.by_metric.get(metric)
        return self.by_metric_domain.get((metric, domain))

    def tally_for(self, domain: str | None = None) -> Tally | None:
        return self.tally if domain is None else self.domain_tallies.get(domain)

    def newest_first(
        self,
        *,
        domain: str | None,
        metric: MetricType | None,
        start_us: int | None,
        end_us: int | None,
    ) -> Iterator[tuple[EventKey, OutcomeEvent]]:
        """Events of this tenant, newest first, from the narrowest index that fits the filter."""
        if metric is not None:
            series = self.series(metric, domain)
            return series.newest_first(start_us, end_us) if series else iter(())
        if domain is not None:
            return merge_newest_first(
                series.newest_first(start_us, end_us)
                for m in MetricType
                if (series := self.by_metric_domain.get((m, domain))) is not None
            )
        return self.timeline.newest_first(start_us, end_us)


def _get_or_create(index: dict, key: object, factory: Callable[[], T]) -> T:
    # Not dict.setdefault: that would build (and drop) a new series on every insert.
    found = index.get(key)
    if found is None:
        found = index[key] = factory()
    return found


def merge_newest_first(
    streams: Iterable[Iterator[tuple[EventKey, OutcomeEvent]]],
) -> Iterator[tuple[EventKey, OutcomeEvent]]:
    """Several newest-first streams as one; keys are unique, so events are never compared."""
    streams = list(streams)
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=_entry_key, reverse=True)


def merge_tails(series: list[MetricSeries], count: int) -> list[float]:
    """The last `count` values of several series together, oldest first."""
    if len(series) == 1:
        return series[0].tail_values(count)
    merged = list(heapq.merge(*(s.tail(count) for s in series), key=_entry_key))
    return [value for _, value in merged[-count:]]


def take(stream: Iterable[tuple[EventKey, OutcomeEvent]], limit: int) -> list[OutcomeEvent]:
    return [event for _, event in islice(stream, limit)]


def _entry_key(entry: tuple[EventKey, object]) -> EventKey:
    return entry[0]
