"""Where outcome events live: the `EventStore` interface and its memory backend.

`OutcomesService` keeps every event and idempotency key through an `EventStore` and nothing
else, so the same service runs on any backend (`make_event_store` picks it). The interface
is the kit's store idea specialised for a time series: besides newest-first lists it answers
the trend, dashboard and ROI maths (the last values of a metric, exact totals of a time
range, running counts) in O(rows returned + log n), never a walk over a tenant's history.

- `insert` is one atomic step: expire the tenant's old keys, answer a live key with its
  first event, check the caps, store, evict the oldest by occurred_at. Refused writes
  (`QuotaExceeded`) change nothing.
- Per tenant at most `max_events` events and `max_bytes` bytes of events and keys; at most
  `max_keys` idempotency keys, each kept `key_ttl` and never dropped earlier.

`tenant_id=None` means an operator: every tenant. Time spans are half-open `[start, end)`.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from agent33_core import state
from agent33_core.errors import QuotaExceeded

from .domain import FailureMode, MetricType, OutcomeEvent, OutcomeSummary
from .idempotency import key_bytes
from .index import (
    EVENT_TYPE,
    KEY,
    SIZE,
    MetricSeries,
    RangeTotals,
    Tally,
    TenantOutcomes,
    event_key,
    merge_newest_first,
    merge_tails,
    occurred_at_of,
    stored_event,
    take,
    time_key,
    to_event,
)

Span = tuple[datetime, datetime]  # [start, end)


def inclusive_end_us(until: datetime) -> int:
    """An inclusive `until` as the exclusive end of a span in microseconds."""
    return time_key(until) + 1


@dataclass(frozen=True, slots=True)
class EventCaps:
    """Per-tenant bounds one write is checked against."""

    max_events: int
    max_keys: int
    max_bytes: int
    key_ttl: timedelta


class DashboardReads(NamedTuple):
    tails: dict[MetricType, list[float]]
    recent: list[OutcomeEvent]
    totals: dict[MetricType, list[RangeTotals]]
    summary: tuple[OutcomeSummary, list[FailureMode]]


class EventStore(Protocol):
    def insert(
        self, event: OutcomeEvent, *, caps: EventCaps, now: datetime, idempotency_key: str | None
    ) -> tuple[OutcomeEvent, bool]:
        """(the stored event, True), or (the key's first event, False) on a keyed retry."""
        ...

    def newest(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        event_type: str | None,
        metric_type: MetricType | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[OutcomeEvent]:
        """Events matching every given filter (since/until inclusive), newest first."""
        ...

    def tails(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        metrics: Sequence[MetricType],
        count: int,
    ) -> dict[MetricType, list[float]]:
        """The last `count` values of each metric by occurred_at, oldest first."""
        ...

    def totals(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        metrics: Sequence[MetricType],
        spans: Sequence[Span],
    ) -> dict[MetricType, list[RangeTotals]]:
        """Count, exact sum and successes of each metric in each span (in `spans` order)."""
        ...

    def summary(
        self, *, tenant_id: str | None, domain: str | None, top_failure_modes: int
    ) -> tuple[OutcomeSummary, list[FailureMode]]:
        """Counts of what is stored, and the most frequent failure classes first."""
        ...

    def dashboard_reads(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        metrics: Sequence[MetricType],
        count: int,
        recent_limit: int,
        spans: Sequence[Span],
        top_failure_modes: int,
    ) -> DashboardReads:
        """What a dashboard shows, read together (one round trip on Redis): `tails`, the
        `newest` `recent_limit` events (of `domain` or any), `totals` and `summary`."""
        ...

    def newest_occurred_at(self) -> datetime | None:
        """The latest occurred_at of any tenant's event, None when there is none."""
        ...

    def count(self, *, tenant_id: str | None) -> int: ...

    def usage(self, tenant_id: str) -> tuple[int, int]:
        """(events, bytes of events and keys) the tenant holds now."""
        ...


# What every backend answers when a write cannot be admitted (the same words on each).


def too_many_keys(caps: EventCaps) -> QuotaExceeded:
    return QuotaExceeded(
        f"This tenant holds {caps.max_keys} idempotency keys younger than 24 hours; a new "
        "key is refused until the oldest expires (retry without a key to record anyway)."
    )


def budget_held_by_keys(caps: EventCaps) -> QuotaExceeded:
    return QuotaExceeded(
        "This tenant's live idempotency keys hold its whole outcomes byte budget "
        f"({caps.max_bytes} bytes); retry when they expire."
    )


def summarize(tally: Tally, top_failure_modes: int) -> tuple[OutcomeSummary, list[FailureMode]]:
    """The dashboard's summary of a tally, and its most frequent failure classes first."""
    summary = OutcomeSummary(
        total_events=tally.total,
        domains=sorted(tally.domains),
        event_types=sorted(tally.event_types),
        metric_counts={metric.value: tally.metrics.get(metric, 0) for metric in MetricType},
    )
    modes = heapq.nsmallest(
        top_failure_modes, tally.failure_modes.items(), key=_most_frequent_first
    )
    return summary, [FailureMode(failure_class=name, count=count) for name, count in modes]


def make_event_store() -> EventStore:
    """The store a new `OutcomesService` keeps its events in (the one place a backend is chosen)."""
    if state.backend() == state.REDIS:
        from .redis_store import RedisEventStore

        return RedisEventStore(client=state.redis_client(), prefix=state.redis_prefix())
    return MemoryEventStore()


class MemoryEventStore:
    """The embedded backend: one `index.TenantOutcomes` per tenant behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tenants: dict[str, TenantOutcomes] = {}
        self._sequence = itertools.count(1)  # orders events with the same occurred_at

    # --- writes ---------------------------------------------------------------------

    def insert(
        self, event: OutcomeEvent, *, caps: EventCaps, now: datetime, idempotency_key: str | None
    ) -> tuple[OutcomeEvent, bool]:
        stored = stored_event(event, event_key(event.occurred_at, next(self._sequence)))
        with self._lock:
            tenant = self._tenants.get(event.tenant_id)
            if tenant is not None and tenant.keys:
                tenant.expire_keys(now - caps.key_ttl)
            needed = stored[SIZE]
            if idempotency_key is not None:
                first = tenant.keys.get(idempotency_key) if tenant is not None else None
                if first is not None:
                    return to_event(first), False
                if tenant is not None and len(tenant.keys) >= caps.max_keys:
                    raise too_many_keys(caps)
                needed += key_bytes(idempotency_key)
            held = tenant.bytes - tenant.evictable_bytes if tenant is not None else 0
            if held + needed > caps.max_bytes:
                raise budget_held_by_keys(caps)
            if tenant is None:
                tenant = self._tenants[event.tenant_id] = TenantOutcomes()
            if idempotency_key is not None:
                tenant.remember_key(idempotency_key, stored, now)
            tenant.add(stored)
            while len(tenant) and (len(tenant) > caps.max_events or tenant.bytes > caps.max_bytes):
                tenant.evict_oldest()
        return event, True

    # --- reads ----------------------------------------------------------------------

    def newest(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        event_type: str | None,
        metric_type: MetricType | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[OutcomeEvent]:
        start_us = time_key(since) if since is not None else None
        end_us = inclusive_end_us(until) if until is not None else None
        with self._lock:
            stream = merge_newest_first(
                tenant.newest_first(
                    domain=domain, metric=metric_type, start_us=start_us, end_us=end_us
                )
                for tenant in self._scope(tenant_id)
            )
            if event_type is not None:
                stream = (event for event in stream if event[EVENT_TYPE] == event_type)
            return take(stream, limit)

    def tails(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        metrics: Sequence[MetricType],
        count: int,
    ) -> dict[MetricType, list[float]]:
        with self._lock:
            tenants = self._scope(tenant_id)
            tails = {}
            for metric in metrics:
                series = _series(tenants, metric, domain)
                tails[metric] = merge_tails(series, count) if series else []
            return tails

    def totals(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        metrics: Sequence[MetricType],
        spans: Sequence[Span],
    ) -> dict[MetricType, list[RangeTotals]]:
        keyed = [(time_key(start), time_key(end)) for start, end in spans]
        with self._lock:
            tenants = self._scope(tenant_id)
            totals = {}
            for metric in metrics:
                series = _series(tenants, metric, domain)
                totals[metric] = [
                    sum((s.totals(start_us, end_us) for s in series), RangeTotals())
                    for start_us, end_us in keyed
                ]
            return totals

    def summary(
        self, *, tenant_id: str | None, domain: str | None, top_failure_modes: int
    ) -> tuple[OutcomeSummary, list[FailureMode]]:
        with self._lock:
            tallies = [
                t
                for tenant in self._scope(tenant_id)
                if (t := tenant.tally_for(domain)) is not None
            ]
            if len(tallies) == 1:
                tally = tallies[0]
            else:
                tally = Tally()
                for each in tallies:
                    tally.merge(each)
            return summarize(tally, top_failure_modes)

    def dashboard_reads(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        metrics: Sequence[MetricType],
        count: int,
        recent_limit: int,
        spans: Sequence[Span],
        top_failure_modes: int,
    ) -> DashboardReads:
        return DashboardReads(
            self.tails(tenant_id=tenant_id, domain=domain, metrics=metrics, count=count),
            self.newest(
                tenant_id=tenant_id,
                domain=domain,
                event_type=None,
                metric_type=None,
                since=None,
                until=None,
                limit=recent_limit,
            ),
            self.totals(tenant_id=tenant_id, domain=domain, metrics=metrics, spans=spans),
            self.summary(tenant_id=tenant_id, domain=domain, top_failure_modes=top_failure_modes),
        )

    def newest_occurred_at(self) -> datetime | None:
        with self._lock:
            newest = max(
                (
                    found[KEY]
                    for tenant in self._tenants.values()
                    if (found := tenant.timeline.newest()) is not None
                ),
                default=None,
            )
        return occurred_at_of(newest) if newest is not None else None

    def count(self, *, tenant_id: str | None) -> int:
        with self._lock:
            return sum(len(tenant) for tenant in self._scope(tenant_id))

    def usage(self, tenant_id: str) -> tuple[int, int]:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            return (len(tenant), tenant.bytes) if tenant is not None else (0, 0)

    def _scope(self, tenant_id: str | None) -> list[TenantOutcomes]:
        if tenant_id is None:
            return list(self._tenants.values())
        tenant = self._tenants.get(tenant_id)
        return [tenant] if tenant is not None else []


def _series(
    tenants: list[TenantOutcomes], metric: MetricType, domain: str | None
) -> list[MetricSeries]:
    return [s for tenant in tenants if (s := tenant.series(metric, domain)) is not None]


def _most_frequent_first(item: tuple[str, int]) -> tuple[int, str]:
    name, count = item
    return -count, name
