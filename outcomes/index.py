"""The indexes the trend maths reads: one tenant's events ordered by occurred_at, and counters.

`store.MemoryEventStore` owns one `TenantOutcomes` per tenant and uses it under its lock;
nothing here locks, reads settings or knows about other tenants. Every structure is kept so that a
read costs O(rows returned + log n), never a walk over the tenant's whole history:

- `Timeline`: events sorted by `(occurred_at, seq)` (bisect insert, oldest at index 0);
- `MetricSeries`: a timeline of one metric (optionally one domain) with exact running sums
  (integers in units of 2**-1074, the smallest float), so the average and success count of
  any occurred_at range are two bisects and an exact subtraction, whatever magnitudes the
  tenant stored before (a float running sum would lose 0.1 next to an earlier 1e15);
- `Tally`: running counts (domains, event types, metrics, failure modes) for the summary;
- `StoredEvent`: an event as kept in memory, its metadata as compact JSON bytes, so what a
  tenant holds is measured in bytes (`TenantOutcomes.bytes`) and bounded by the store.
"""

from __future__ import annotations

import heapq
import json
import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice
from typing import Any, TypeVar

from agent33_core.sizing import block_bytes, text_bytes

from .domain import SUCCESS_THRESHOLD, MetricType, OutcomeEvent, failure_class_of
from .idempotency import IdempotencyKeys, key_bytes

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


# Every float is a whole multiple of 2**-1074, so a sum of floats scaled by 2**1074 is an
# exact integer, and Python's int / int division rounds an average correctly.
_SCALE_BITS = 1074

# What one event costs besides its text and metadata, at most: the stored record, its id and
# time, its place in the timeline and two metric series (exact prefix sums of ~1,100 bits
# each), and the series, tallies and counter entries of a domain, event type and failure
# class it may be the first to bring. Measured with tracemalloc on CPython 3.12 (~900 bytes
# for a typical event, ~2,600 when every event brings a new domain), rounded up.
RECORD_OVERHEAD_BYTES = 3_000
_EMPTY_OBJECT = b"{}"


def scaled(value: float) -> int:
    """`value` as an exact integer count of 2**-1074."""
    numerator, denominator = value.as_integer_ratio()
    return numerator << (_SCALE_BITS + 1 - denominator.bit_length())


def compact_json(value: dict[str, Any]) -> bytes:
    if not value:
        return _EMPTY_OBJECT
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class StoredEvent:
    """An event as kept in memory: metadata as compact UTF-8 JSON bytes (a parsed object
    can cost twenty times its JSON), plus what the indexes and byte accounting need."""

    __slots__ = (
        "domain",
        "event_type",
        "failure_class",
        "id",
        "in_timeline",
        "key_live",
        "metadata_json",
        "metric_type",
        "occurred_at",
        "size",
        "tenant_id",
        "value",
    )

    def __init__(self, event: OutcomeEvent) -> None:
        self.id = event.id
        self.tenant_id = event.tenant_id
        self.domain = event.domain
        self.event_type = event.event_type
        self.metric_type = event.metric_type
        self.value = event.value
        self.occurred_at = event.occurred_at
        self.metadata_json = compact_json(event.metadata)
        self.failure_class = failure_class_of(event)
        # The texts as kept once rendered (a non-ASCII str keeps a UTF-8 copy), and the
        # metadata's bytes object as a heap block (`agent33_core.sizing`).
        self.size = (
            RECORD_OVERHEAD_BYTES
            + block_bytes(sys.getsizeof(self.metadata_json))
            + text_bytes(self.domain)
            + text_bytes(self.event_type)
        )
        self.in_timeline = False  # held by the tenant's timeline and series
        self.key_live = False  # held by a live idempotency key

    def to_event(self) -> OutcomeEvent:
        # Built from a validated event, so validating again would only cost time.
        return OutcomeEvent.model_construct(
            id=self.id,
            tenant_id=self.tenant_id,
            domain=self.domain,
            event_type=self.event_type,
            metric_type=self.metric_type,
            value=self.value,
            occurred_at=self.occurred_at,
            metadata=json.loads(self.metadata_json),
        )


class Timeline:
    """Events ordered by (occurred_at, seq); insert is a bisect, the oldest is at index 0."""

    __slots__ = ("_events", "_keys")

    def __init__(self) -> None:
        self._keys: list[EventKey] = []
        self._events: list[StoredEvent] = []

    def __len__(self) -> int:
        return len(self._keys)

    def insert(self, key: EventKey, event: StoredEvent) -> int:
        # Events mostly arrive in time order, so the common case is an append.
        position = len(self._keys)
        if position and key < self._keys[-1]:
            position = bisect_left(self._keys, key)
        self._keys.insert(position, key)
        self._events.insert(position, event)
        return position

    def pop_oldest(self) -> StoredEvent:
        del self._keys[0]
        return self._events.pop(0)

    def newest_entry(self) -> tuple[EventKey, StoredEvent] | None:
        return (self._keys[-1], self._events[-1]) if self._keys else None

    def span(self, start_us: int | None, end_us: int | None) -> tuple[int, int]:
        """Positions [lo, hi) of the events with start_us <= occurred_at < end_us."""
        lo = 0 if start_us is None else bisect_left(self._keys, (start_us,))
        hi = len(self._keys) if end_us is None else bisect_left(self._keys, (end_us,))
        return lo, max(lo, hi)

    def newest_first(
        self, start_us: int | None = None, end_us: int | None = None
    ) -> Iterator[tuple[EventKey, StoredEvent]]:
        lo, hi = self.span(start_us, end_us)
        keys, events = self._keys, self._events
        return ((keys[i], events[i]) for i in range(hi - 1, lo - 1, -1))


@dataclass(frozen=True, slots=True)
class RangeTotals:
    """What a range of one metric adds up to: how many values, their exact sum (in units of
    2**-1074, see `scaled`), how many are >= 1.0."""

    count: int = 0
    exact_total: int = 0
    successes: int = 0

    def __add__(self, other: RangeTotals) -> RangeTotals:
        return RangeTotals(
            self.count + other.count,
            self.exact_total + other.exact_total,
            self.successes + other.successes,
        )

    @property
    def average(self) -> float:
        """The exact average, correctly rounded to a float (int / int rounds correctly)."""
        return self.exact_total / (self.count << _SCALE_BITS) if self.count else 0.0


class MetricSeries(Timeline):
    """A timeline of one metric with exact prefix sums of its values and of its successes.

    `_sums[i]` is the exact sum (an int, see `scaled`) of every value up to position i,
    counted from `_sum_base` (what evicted values added up to), so a range sum is an exact
    subtraction. An out-of-order insert shifts the later prefixes like `list.insert` shifts
    the later items; the prefixes are recomputed from the values after as many evictions
    as there are events, so they stay as small as the values they sum.
    """

    __slots__ = ("_evictions", "_success_base", "_successes", "_sum_base", "_sums")

    def __init__(self) -> None:
        super().__init__()
        self._sums: list[int] = []
        self._successes: list[int] = []
        self._sum_base = 0
        self._success_base = 0
        self._evictions = 0

    def insert(self, key: EventKey, event: StoredEvent) -> int:
        position = super().insert(key, event)
        value = scaled(event.value)
        success = 1 if event.value >= SUCCESS_THRESHOLD else 0
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

    def pop_oldest(self) -> StoredEvent:
        event = super().pop_oldest()
        self._sum_base = self._sums.pop(0)
        self._success_base = self._successes.pop(0)
        self._evictions += 1
        if self._evictions >= len(self._sums):
            self._recompute_prefixes()
        return event

    def _recompute_prefixes(self) -> None:
        values = [event.value for event in self._events]
        self._sums = list(accumulate(scaled(v) for v in values))
        self._successes = list(accumulate(1 if v >= SUCCESS_THRESHOLD else 0 for v in values))
        self._sum_base, self._success_base, self._evictions = 0, 0, 0

    def tail(self, count: int) -> list[tuple[EventKey, float]]:
        """The last `count` (key, value) pairs, oldest first."""
        start = max(0, len(self._keys) - count)
        return list(zip(self._keys[start:], self.tail_values(count), strict=True))

    def tail_values(self, count: int) -> list[float]:
        """The last `count` values, oldest first."""
        return [event.value for event in self._events[max(0, len(self._events) - count) :]]

    def totals(self, start_us: int, end_us: int) -> RangeTotals:
        """Count, exact sum and successes of the values with start_us <= occurred_at < end_us."""
        lo, hi = self.span(start_us, end_us)
        if lo == hi:
            return RangeTotals()
        sum_before = self._sums[lo - 1] if lo else self._sum_base
        successes_before = self._successes[lo - 1] if lo else self._success_base
        return RangeTotals(
            count=hi - lo,
            exact_total=self._sums[hi - 1] - sum_before,
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

    def add(self, event: StoredEvent) -> None:
        self.total += 1
        self.domains[event.domain] += 1
        self.event_types[event.event_type] += 1
        self.metrics[event.metric_type] += 1
        if event.metric_type is MetricType.FAILURE_CLASS:
            self.failure_modes[event.failure_class] += 1

    def remove(self, event: StoredEvent) -> None:
        self.total -= 1
        _decrement(self.domains, event.domain)
        _decrement(self.event_types, event.event_type)
        _decrement(self.metrics, event.metric_type)
        if event.metric_type is MetricType.FAILURE_CLASS:
            _decrement(self.failure_modes, event.failure_class)

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
    """Every index of one tenant (all events, per metric, per metric+domain, tallies), its
    idempotency keys, and the bytes they hold.

    `bytes` counts each stored event once while the timeline or a live key holds it (an
    event evicted from the timeline stays in memory as long as its key is live), plus each
    live key. `evictable_bytes` is the part evicting the whole timeline would free: the
    events no live key holds. The store checks both before a write.
    """

    __slots__ = (
        "by_metric",
        "by_metric_domain",
        "bytes",
        "domain_tallies",
        "evictable_bytes",
        "keys",
        "tally",
        "timeline",
    )

    def __init__(self) -> None:
        self.timeline = Timeline()
        self.by_metric: dict[MetricType, MetricSeries] = {}
        self.by_metric_domain: dict[tuple[MetricType, str], MetricSeries] = {}
        self.tally = Tally()
        self.domain_tallies: dict[str, Tally] = {}
        self.keys: IdempotencyKeys[StoredEvent] = IdempotencyKeys()
        self.bytes = 0
        self.evictable_bytes = 0

    def __len__(self) -> int:
        return len(self.timeline)

    def add(self, key: EventKey, event: StoredEvent) -> None:
        metric, domain = event.metric_type, event.domain
        self.timeline.insert(key, event)
        _get_or_create(self.by_metric, metric, MetricSeries).insert(key, event)
        _get_or_create(self.by_metric_domain, (metric, domain), MetricSeries).insert(key, event)
        self.tally.add(event)
        _get_or_create(self.domain_tallies, domain, Tally).add(event)
        event.in_timeline = True
        if not event.key_live:
            self.bytes += event.size
            self.evictable_bytes += event.size

    def evict_oldest(self) -> StoredEvent:
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
        event.in_timeline = False
        if not event.key_live:  # else its live key still holds it
            self.bytes -= event.size
            self.evictable_bytes -= event.size
        return event

    def remember_key(self, key: str, event: StoredEvent, now: datetime) -> None:
        """Hold `event` under `key` (call before `add`, so its bytes are counted once)."""
        self.keys.add(key, event, now)
        event.key_live = True
        self.bytes += key_bytes(key) + (0 if event.in_timeline else event.size)

    def expire_keys(self, cutoff: datetime) -> None:
        """Forget the keys remembered at or before `cutoff`, and what only they held."""
        for key, event in self.keys.expire(cutoff):
            event.key_live = False
            self.bytes -= key_bytes(key)
            if event.in_timeline:
                self.evictable_bytes += event.size
            else:
                self.bytes -= event.size

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
    ) -> Iterator[tuple[EventKey, StoredEvent]]:
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
    streams: Iterable[Iterator[tuple[EventKey, StoredEvent]]],
) -> Iterator[tuple[EventKey, StoredEvent]]:
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


def take(stream: Iterable[tuple[EventKey, StoredEvent]], limit: int) -> list[OutcomeEvent]:
    """The first `limit` events of a stream, as the API's models."""
    return [event.to_event() for _, event in islice(stream, limit)]


def _entry_key(entry: tuple[EventKey, object]) -> EventKey:
    return entry[0]
