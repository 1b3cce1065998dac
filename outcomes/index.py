"""The indexes the trend maths reads: one tenant's events ordered by occurred_at, and counters.

`store.MemoryEventStore` owns one `TenantOutcomes` per tenant and uses it under its lock;
nothing here locks, reads settings or knows about other tenants. Every read costs
O(rows returned + log n) and every write O(log n + BLOCK) amortised, wherever in time the
event falls: nothing walks a tenant's history.

- A stored event is one plain tuple of strings and numbers (`stored_event`). The garbage
  collector stops tracking such a tuple, so a full collection does not visit the events.
- `Timeline`: events sorted by key (occurred_at, then arrival) in blocks of at most
  `BLOCK` events, like a B-tree's leaves: an insert shifts one block, evicting the oldest
  pops the front of the first block.
- `MetricSeries`: a timeline of one metric (optionally one domain) that also keeps, per
  block, exact prefix sums of its values (integers in units of 2**-1074, the smallest float)
  and of its successes, and Fenwick trees over the blocks' totals, so the count, exact sum
  and successes of any occurred_at range are two bisects, two tree walks and an exact
  subtraction, whatever magnitudes the tenant stored (a float running sum would lose 0.1
  next to an earlier 1e15). A backdated event adds its value to the later prefixes of its
  own block only.
- `Tally`: running counts (domains, event types, metrics, failure modes) for the summary.
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
from itertools import islice
from operator import itemgetter
from typing import Any, TypeVar

from agent33_core.sizing import block_bytes, text_bytes

from .domain import SUCCESS_THRESHOLD, MetricType, OutcomeEvent, failure_class_of
from .idempotency import IdempotencyKeys, key_bytes

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# An event's key orders a tenant's events: occurred_at in microseconds since the epoch, then
# the store's arrival sequence (modulo 2**40, a trillion writes) for events of one moment.
SEQUENCE_SPAN = 1 << 40


def time_key(moment: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch (exact, unlike a float)."""
    return (moment - _EPOCH) // _MICROSECOND


def duration_key(span: timedelta) -> int:
    """A duration in whole microseconds, the unit of `time_key`."""
    return span // _MICROSECOND


def event_key(occurred_at: datetime, sequence: int) -> int:
    return time_key(occurred_at) * SEQUENCE_SPAN + sequence % SEQUENCE_SPAN


def key_bound(time_us: int) -> int:
    """The smallest key of an event at `time_us` (every key at or after it is >= this)."""
    return time_us * SEQUENCE_SPAN


def occurred_at_of(key: int) -> datetime:
    return _EPOCH + timedelta(microseconds=key // SEQUENCE_SPAN)


# Every float is a whole multiple of 2**-1074, so a sum of floats scaled by 2**1074 is an
# exact integer, and Python's int / int division rounds an average correctly.
_SCALE_BITS = 1074

# What one event costs besides its id, texts and metadata, at most: its tuple and key, its
# slots in the timeline and two metric series with their exact prefix sums (~1,100 bits
# each), and the series, tallies and counter entries of a domain, event type and failure
# class it may be the first to bring. Measured with tracemalloc on CPython 3.11 (~700 bytes
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


# --- a stored event: one untracked tuple ---------------------------------------------------

# The fields of a stored event tuple, by position. Only strings, numbers and bytes, so the
# garbage collector untracks it (an enum member would keep it tracked: the metric is its str).
KEY, ID, TENANT, DOMAIN, EVENT_TYPE, METRIC, VALUE, METADATA, FAILURE_CLASS, SIZE = range(10)
StoredEvent = tuple  # (key, id, tenant, domain, event_type, metric, value, metadata, failure, size)
_key_of = itemgetter(KEY)


def stored_event(event: OutcomeEvent, key: int) -> StoredEvent:
    """`event` as kept in memory: metadata as compact UTF-8 JSON bytes (a parsed object can
    cost twenty times its JSON); repeated texts (tenant, domain, type) share one string."""
    metadata = compact_json(event.metadata)
    domain, event_type = sys.intern(event.domain), sys.intern(event.event_type)
    # The texts as kept once rendered (a non-ASCII str keeps a UTF-8 copy), and the
    # metadata's bytes object as a heap block (`agent33_core.sizing`).
    size = (
        RECORD_OVERHEAD_BYTES
        + block_bytes(sys.getsizeof(metadata))
        + text_bytes(domain)
        + text_bytes(event_type)
    )
    return (
        key,
        event.id,
        sys.intern(event.tenant_id),
        domain,
        event_type,
        event.metric_type.value,
        event.value,
        metadata,
        failure_class_of(event),
        size,
    )


def to_event(stored: StoredEvent) -> OutcomeEvent:
    # Built from a validated event, so validating again would only cost time.
    return OutcomeEvent.model_construct(
        id=stored[ID],
        tenant_id=stored[TENANT],
        domain=stored[DOMAIN],
        event_type=stored[EVENT_TYPE],
        metric_type=MetricType(stored[METRIC]),
        value=stored[VALUE],
        occurred_at=occurred_at_of(stored[KEY]),
        metadata=json.loads(stored[METADATA]),
    )


# --- ordered blocks -------------------------------------------------------------------------

# A block is split in two when it reaches BLOCK events. At most 256, so that a block's
# running success counts stay CPython's preallocated small integers.
BLOCK = 256
_HALF = BLOCK // 2


class Timeline:
    """Stored events ordered by key, in blocks; the oldest is the first of the first block.

    `_blocks[b]` is sorted, every key of block b is below every key of block b+1, and
    `_maxes[b]` is the last key of block b, so finding a key is a bisect over the blocks and
    one within a block of at most `BLOCK` events.
    """

    __slots__ = ("_blocks", "_len", "_maxes")

    def __init__(self) -> None:
        self._blocks: list[list[StoredEvent]] = []
        self._maxes: list[int] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def _position(self, key: int) -> tuple[int, int]:
        """(block, offset) of the first event whose key is >= `key`; (len(blocks), 0) if none."""
        block = bisect_left(self._maxes, key)
        if block == len(self._maxes):
            return block, 0
        return block, bisect_left(self._blocks[block], key, key=_key_of)

    def insert(self, event: StoredEvent) -> None:
        key = event[KEY]
        maxes = self._maxes
        if not maxes:
            self._blocks.append([event])
            maxes.append(key)
            block, offset = 0, 0
            self._started_block()
        elif key > maxes[-1]:  # the common case: the newest event so far
            block = len(maxes) - 1
            events = self._blocks[block]
            offset = len(events)
            events.append(event)
            maxes[block] = key
        else:
            block = bisect_left(maxes, key)
            events = self._blocks[block]
            offset = bisect_left(events, key, key=_key_of)
            events.insert(offset, event)
        self._len += 1
        self._inserted(block, offset, event)
        if len(self._blocks[block]) >= BLOCK:
            self._split(block)

    def pop_oldest(self) -> StoredEvent:
        first = self._blocks[0]
        event = first.pop(0)  # shifts at most BLOCK slots
        self._len -= 1
        self._popped_front(event)
        if not first:
            del self._blocks[0], self._maxes[0]  # once per BLOCK evictions
            self._dropped_first_block()
        return event

    def newest(self) -> StoredEvent | None:
        return self._blocks[-1][-1] if self._blocks else None

    def newest_first(
        self, start_us: int | None = None, end_us: int | None = None
    ) -> Iterator[StoredEvent]:
        """Events with start_us <= occurred_at < end_us, newest first."""
        low = (0, 0) if start_us is None else self._position(key_bound(start_us))
        high = (len(self._blocks), 0) if end_us is None else self._position(key_bound(end_us))
        return self._backwards(low, high)

    def _backwards(self, low: tuple[int, int], high: tuple[int, int]) -> Iterator[StoredEvent]:
        blocks = self._blocks
        block, end = high
        low_block, low_offset = low
        while block > low_block or (block == low_block and end > low_offset):
            if end == 0:
                block -= 1
                end = len(blocks[block])
                continue
            start = low_offset if block == low_block else 0
            events = blocks[block]
            for i in range(end - 1, start - 1, -1):
                yield events[i]
            end = start

    def tail(self, count: int) -> list[StoredEvent]:
        """The last `count` events, oldest first."""
        tail: list[StoredEvent] = []
        for events in reversed(self._blocks):
            if len(tail) >= count:
                break
            tail[:0] = events[-(count - len(tail)) :]
        return tail

    def _split(self, block: int) -> None:
        events = self._blocks[block]
        self._blocks.insert(block + 1, events[_HALF:])
        del events[_HALF:]
        self._maxes.insert(block, events[-1][KEY])
        self._split_block(block)

    # What a subclass keeps beside the blocks follows these four changes.
    def _started_block(self) -> None:
        pass

    def _inserted(self, block: int, offset: int, event: StoredEvent) -> None:
        pass

    def _popped_front(self, event: StoredEvent) -> None:
        pass

    def _dropped_first_block(self) -> None:
        pass

    def _split_block(self, block: int) -> None:
        pass


class Fenwick:
    """Prefix sums over a list of integers with O(log n) update and query (a binary
    indexed tree); built in O(n)."""

    __slots__ = ("_tree",)

    def __init__(self, values: Iterable[int]) -> None:
        tree = [0, *values]
        for i in range(1, len(tree)):
            parent = i + (i & -i)
            if parent < len(tree):
                tree[parent] += tree[i]
        self._tree = tree

    def __len__(self) -> int:
        return len(self._tree) - 1

    def append(self, value: int) -> None:
        """One more value at the end, in O(log n)."""
        index = len(self._tree)  # its 1-based position; that slot sums (low, index]
        low = index - (index & -index)
        self._tree.append(value + self.before(index - 1) - self.before(low))

    def add(self, index: int, delta: int) -> None:
        tree = self._tree
        index += 1
        while index < len(tree):
            tree[index] += delta
            index += index & -index

    def before(self, index: int) -> int:
        """The sum of values[:index]."""
        tree, total = self._tree, 0
        while index > 0:
            total += tree[index]
            index -= index & -index
        return total


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


def _success(value: float) -> int:
    return 1 if value >= SUCCESS_THRESHOLD else 0


class MetricSeries(Timeline):
    """A timeline of one metric with exact running totals, per block and across blocks.

    For block b, `_sums[b][i] - _sum_bases[b]` is the exact sum (see `scaled`) of its first
    i+1 values; the base absorbs what evicting the block's front removed, so an eviction
    changes no prefix. `_successes`/`_success_bases` count values >= 1.0 the same way. Three
    Fenwick trees hold the count, sum and successes of every block but the last, which
    answers from its own prefixes: the common write, the newest event so far, touches no
    tree. Block b sits at position `_tree_base + b` of the trees: when the last block splits,
    its first half is appended to them, and when the first block goes (evicted to nothing)
    its entries are zeroed and the base moves up; both O(log n). Only a split in the middle (a
    backdated write into a full block) rebuilds them, as does a base past half the trees.

    An eviction touches no tree either: the first block's entries keep what it held when they
    were last set (`_front_synced`), and a query past it subtracts what was evicted since:
    `_front_pops` values, whose sum and successes are how far the block's bases have moved.
    """

    __slots__ = (
        "_count_tree",
        "_front_pops",
        "_front_synced",
        "_success_bases",
        "_success_tree",
        "_successes",
        "_sum_bases",
        "_sum_tree",
        "_sums",
        "_tree_base",
    )

    def __init__(self) -> None:
        super().__init__()
        self._sums: list[list[int]] = []
        self._successes: list[list[int]] = []
        self._sum_bases: list[int] = []
        self._success_bases: list[int] = []
        self._rebuild_trees()

    def _started_block(self) -> None:
        self._sums.append([])
        self._successes.append([])
        self._sum_bases.append(0)
        self._success_bases.append(0)
        self._rebuild_trees()

    def _inserted(self, block: int, offset: int, event: StoredEvent) -> None:
        value = scaled(event[VALUE])
        success = _success(event[VALUE])
        sums, successes = self._sums[block], self._successes[block]
        if offset == len(sums):
            sums.append((sums[-1] if sums else self._sum_bases[block]) + value)
            successes.append((successes[-1] if successes else self._success_bases[block]) + success)
        else:  # a backdated event: the later prefixes of this block shift, no other block's
            sums.insert(offset, (sums[offset - 1] if offset else self._sum_bases[block]))
            successes.insert(
                offset, (successes[offset - 1] if offset else self._success_bases[block])
            )
            for i in range(offset, len(sums)):
                sums[i] += value
            if success:
                for i in range(offset, len(successes)):
                    successes[i] += 1
        if block < len(self._blocks) - 1:  # the last block is in no tree
            position = self._tree_base + block
            self._count_tree.add(position, 1)
            self._sum_tree.add(position, value)
            if success:
                self._success_tree.add(position, 1)

    def _popped_front(self, event: StoredEvent) -> None:
        self._sum_bases[0] = self._sums[0].pop(0)
        self._success_bases[0] = self._successes[0].pop(0)
        self._front_pops += 1  # the trees learn of it when the block goes (see the class)

    def _front_evicted(self) -> tuple[int, int, int]:
        """(count, exact sum, successes) evicted from the first block since its tree entries
        were last set."""
        sum_base, success_base = self._front_synced
        return (
            self._front_pops,
            self._sum_bases[0] - sum_base,
            self._success_bases[0] - success_base,
        )

    def _sync_front(self) -> None:
        """The first block's tree entries (if it has any) now hold exactly what it holds."""
        self._front_pops = 0
        self._front_synced = (
            (self._sum_bases[0], self._success_bases[0]) if self._sum_bases else (0, 0)
        )

    def _dropped_first_block(self) -> None:
        if self._blocks:  # it was in the trees: zero its entries
            count, total, successes = self._front_evicted()
            position = self._tree_base
            self._count_tree.add(position, -count)
            self._sum_tree.add(position, -total)
            self._success_tree.add(position, -successes)
        del self._sums[0], self._successes[0], self._sum_bases[0], self._success_bases[0]
        # The next block's position is one further on, and its entries are exact.
        self._tree_base += 1
        self._sync_front()
        if self._tree_base > len(self._blocks):
            self._rebuild_trees()

    def _split_block(self, block: int) -> None:
        sums, successes = self._sums[block], self._successes[block]
        # The second half keeps its prefixes, counted from the first half's last one.
        self._sums.insert(block + 1, sums[_HALF:])
        self._successes.insert(block + 1, successes[_HALF:])
        self._sum_bases.insert(block + 1, sums[_HALF - 1])
        self._success_bases.insert(block + 1, successes[_HALF - 1])
        del sums[_HALF:], successes[_HALF:]
        if block + 2 == len(self._blocks) and self._tree_base + block == len(self._count_tree):
            # The last block split: its first half joins the trees at their end.
            self._count_tree.append(len(self._blocks[block]))
            self._sum_tree.append(sums[-1] - self._sum_bases[block])
            self._success_tree.append(successes[-1] - self._success_bases[block])
            if block == 0:  # the first block just joined the trees
                self._sync_front()
        else:
            self._rebuild_trees()

    def _rebuild_trees(self) -> None:
        self._tree_base = 0
        blocks = range(len(self._blocks) - 1)  # every block but the last
        self._count_tree = Fenwick(len(self._blocks[b]) for b in blocks)
        self._sum_tree = Fenwick(self._sums[b][-1] - self._sum_bases[b] for b in blocks)
        self._success_tree = Fenwick(
            self._successes[b][-1] - self._success_bases[b] for b in blocks
        )
        self._sync_front()

    def _totals_before(self, block: int, offset: int) -> tuple[int, int, int]:
        """(count, exact sum, successes) of every event before position (block, offset)."""
        last = len(self._blocks) - 1
        if block > last:  # the end: every event of the last block too
            if last < 0:
                return 0, 0, 0
            block, offset = last, len(self._blocks[last])
        position = self._tree_base + block  # the blocks before it sum to what precedes it
        count = self._count_tree.before(position) + offset
        total = self._sum_tree.before(position)
        successes = self._success_tree.before(position)
        if block:  # the trees' first block still counts what was evicted from it
            evicted = self._front_evicted()
            count -= evicted[0]
            total -= evicted[1]
            successes -= evicted[2]
        if offset:
            total += self._sums[block][offset - 1] - self._sum_bases[block]
            successes += self._successes[block][offset - 1] - self._success_bases[block]
        return count, total, successes

    def totals(self, start_us: int, end_us: int) -> RangeTotals:
        """Count, exact sum and successes of the values with start_us <= occurred_at < end_us."""
        if end_us <= start_us:
            return RangeTotals()
        low = self._totals_before(*self._position(key_bound(start_us)))
        high = self._totals_before(*self._position(key_bound(end_us)))
        if high[0] == low[0]:
            return RangeTotals()
        return RangeTotals(high[0] - low[0], high[1] - low[1], high[2] - low[2])

    def tail_values(self, count: int) -> list[float]:
        """The last `count` values, oldest first."""
        return [event[VALUE] for event in self.tail(count)]


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
        self.domains[event[DOMAIN]] += 1
        self.event_types[event[EVENT_TYPE]] += 1
        self.metrics[event[METRIC]] += 1
        if event[METRIC] == MetricType.FAILURE_CLASS:
            self.failure_modes[event[FAILURE_CLASS]] += 1

    def remove(self, event: StoredEvent) -> None:
        self.total -= 1
        _decrement(self.domains, event[DOMAIN])
        _decrement(self.event_types, event[EVENT_TYPE])
        _decrement(self.metrics, event[METRIC])
        if event[METRIC] == MetricType.FAILURE_CLASS:
            _decrement(self.failure_modes, event[FAILURE_CLASS])

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
    events no live key holds. The store checks both before a write. `keyed` names the
    events a live key holds, `evicted_keyed` those of them the timeline no longer holds.
    """

    __slots__ = (
        "by_metric",
        "by_metric_domain",
        "bytes",
        "domain_tallies",
        "evictable_bytes",
        "evicted_keyed",
        "keyed",
        "keys",
        "tally",
        "timeline",
    )

    def __init__(self) -> None:
        self.timeline = Timeline()
        self.by_metric: dict[str, MetricSeries] = {}
        self.by_metric_domain: dict[tuple[str, str], MetricSeries] = {}
        self.tally = Tally()
        self.domain_tallies: dict[str, Tally] = {}
        self.keys: IdempotencyKeys[StoredEvent] = IdempotencyKeys()
        self.keyed: set[str] = set()
        self.evicted_keyed: set[str] = set()
        self.bytes = 0
        self.evictable_bytes = 0

    def __len__(self) -> int:
        return len(self.timeline)

    def add(self, event: StoredEvent) -> None:
        metric, domain = event[METRIC], event[DOMAIN]
        self.timeline.insert(event)
        _get_or_create(self.by_metric, metric, MetricSeries).insert(event)
        _get_or_create(self.by_metric_domain, (metric, domain), MetricSeries).insert(event)
        self.tally.add(event)
        _get_or_create(self.domain_tallies, domain, Tally).add(event)
        if event[ID] not in self.keyed:  # else `remember_key` counted it
            self.bytes += event[SIZE]
            self.evictable_bytes += event[SIZE]

    def evict_oldest(self) -> StoredEvent:
        """Drop the oldest event from every index and counter (it is the oldest in each)."""
        event = self.timeline.pop_oldest()
        metric, domain = event[METRIC], event[DOMAIN]
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
        if event[ID] in self.keyed:  # its live key still holds it
            self.evicted_keyed.add(event[ID])
        else:
            self.bytes -= event[SIZE]
            self.evictable_bytes -= event[SIZE]
        return event

    def remember_key(self, key: str, event: StoredEvent, now: datetime) -> None:
        """Hold `event` under `key` (call before `add`, so its bytes are counted once)."""
        self.keys.add(key, event, now)
        self.keyed.add(event[ID])
        self.bytes += key_bytes(key) + event[SIZE]

    def expire_keys(self, cutoff: datetime) -> None:
        """Forget the keys remembered at or before `cutoff`, and what only they held."""
        for key, event in self.keys.expire(cutoff):
            self.keyed.discard(event[ID])
            self.bytes -= key_bytes(key)
            if event[ID] in self.evicted_keyed:
                self.evicted_keyed.discard(event[ID])
                self.bytes -= event[SIZE]
            else:
                self.evictable_bytes += event[SIZE]

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
    ) -> Iterator[StoredEvent]:
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


def merge_newest_first(streams: Iterable[Iterator[StoredEvent]]) -> Iterator[StoredEvent]:
    """Several newest-first streams as one; keys are unique, so events are never compared."""
    streams = list(streams)
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=_key_of, reverse=True)


def merge_tails(series: list[MetricSeries], count: int) -> list[float]:
    """The last `count` values of several series together, oldest first."""
    if len(series) == 1:
        return series[0].tail_values(count)
    merged = list(heapq.merge(*(s.tail(count) for s in series), key=_key_of))
    return [event[VALUE] for event in merged[-count:]]


def take(stream: Iterable[StoredEvent], limit: int) -> list[OutcomeEvent]:
    """The first `limit` events of a stream, as the API's models."""
    return [to_event(event) for event in islice(stream, limit)]
