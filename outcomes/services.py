"""`OutcomesService`: the only place outcome events are stored, and every read over them.

State lives in memory, per tenant (`index.TenantOutcomes`), behind one lock. `tenant_id`
is keyword-only everywhere: a string limits a call to that tenant, `None` means an
operator reading every tenant.

Bounds per tenant (settings, defaults in brackets): `OUTCOMES_MAX_EVENTS_PER_TENANT`
[10,000] events and `OUTCOMES_MAX_BYTES_PER_TENANT` [64 MiB] of events and keys, the
oldest events by occurred_at evicted first; `OUTCOMES_MAX_IDEMPOTENCY_KEYS` [10,000]
live keys, each kept 24 h and never dropped earlier (a new keyed write past the cap,
or a write that eviction cannot make room for, is a 429 `quota_exceeded`).

Worst case per tenant at the defaults: `WORST_CASE_BYTES_PER_TENANT`, the 64 MiB budget
(67.1 MB). Bytes are counted at or above what CPython really holds: an event is
`index.RECORD_OVERHEAD_BYTES` (3,000) + its metadata as compact JSON (at most 16 KiB,
stored as bytes, never as parsed objects) + its two texts; a key ~270 bytes. So a tenant
keeps its 10,000 events when they are small, about 3,500 at the largest metadata.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from agent33_core.errors import DomainError, QuotaExceeded

from .domain import (
    DOMAIN_ALL,
    NUMERIC_METRICS,
    Dashboard,
    FailureMode,
    HealthStatus,
    MetricType,
    OutcomeEvent,
    OutcomeSummary,
    OutcomeTrend,
    RoiReport,
    evaluate_trend,
    new_event_id,
    roi_report,
    week_over_week,
)
from .idempotency import key_bytes
from .index import (
    MetricSeries,
    RangeTotals,
    StoredEvent,
    Tally,
    TenantOutcomes,
    duration_key,
    merge_newest_first,
    merge_tails,
    take,
    time_key,
)

DEFAULT_MAX_EVENTS_PER_TENANT = 10_000
DEFAULT_MAX_IDEMPOTENCY_KEYS = 10_000
DEFAULT_MAX_BYTES_PER_TENANT = 64 * 1024 * 1024
# A write evicts in the same locked step, so what a tenant holds never exceeds its budget.
WORST_CASE_BYTES_PER_TENANT = DEFAULT_MAX_BYTES_PER_TENANT
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_FUTURE_SKEW = timedelta(minutes=5)
HEALTHY_WITHIN = timedelta(hours=24)
WEEK = timedelta(days=7)
TOP_FAILURE_MODES = 10

_ONE_MICROSECOND = 1  # index ranges end before their bound; +1 µs makes an end inclusive


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A naive time is taken as UTC; an aware one is converted to UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class OccurredInTheFuture(DomainError):
    """`occurred_at` later than the service's clock allows (400 invalid)."""


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """What `record_event` did: the event, and whether it is new (False on a keyed retry)."""

    event: OutcomeEvent
    created: bool


class OutcomesService:
    """Outcome events per tenant, and the trends, dashboard, ROI and health read from them."""

    def __init__(
        self,
        *,
        max_events_per_tenant: int | None = None,
        max_idempotency_keys: int | None = None,
        max_bytes_per_tenant: int | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        # None reads the setting at each write, so a test's settings override applies.
        self._max_events_per_tenant = max_events_per_tenant
        self._max_idempotency_keys = max_idempotency_keys
        self._max_bytes_per_tenant = max_bytes_per_tenant
        self._clock = clock
        self._lock = threading.Lock()
        self._tenants: dict[str, TenantOutcomes] = {}
        self._sequence = itertools.count(1)

    @property
    def max_events_per_tenant(self) -> int:
        return _cap(
            self._max_events_per_tenant,
            "OUTCOMES_MAX_EVENTS_PER_TENANT",
            DEFAULT_MAX_EVENTS_PER_TENANT,
        )

    @property
    def max_idempotency_keys(self) -> int:
        return _cap(
            self._max_idempotency_keys,
            "OUTCOMES_MAX_IDEMPOTENCY_KEYS",
            DEFAULT_MAX_IDEMPOTENCY_KEYS,
        )

    @property
    def max_bytes_per_tenant(self) -> int:
        return _cap(
            self._max_bytes_per_tenant,
            "OUTCOMES_MAX_BYTES_PER_TENANT",
            DEFAULT_MAX_BYTES_PER_TENANT,
        )

    # --- writes ---------------------------------------------------------------------

    def record_event(
        self,
        *,
        tenant_id: str,
        domain: str,
        event_type: str,
        metric_type: MetricType,
        value: float,
        occurred_at: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RecordedEvent:
        """Store one event; a repeated idempotency key returns its first event instead.

        Refused, storing nothing: `occurred_at` more than 5 minutes ahead of the clock (400);
        a new key when the tenant holds its cap of live keys, or an event the tenant's byte
        budget cannot make room for by evicting (429).
        """
        now = self._clock()
        occurred = as_utc(occurred_at) if occurred_at is not None else now
        if occurred > now + MAX_FUTURE_SKEW:
            raise OccurredInTheFuture("occurred_at: Must not be more than 5 minutes in the future.")
        event = OutcomeEvent(
            id=new_event_id(),
            tenant_id=tenant_id,
            domain=domain,
            event_type=event_type,
            metric_type=metric_type,
            value=value,
            occurred_at=occurred,
            metadata=dict(metadata or {}),
        )
        stored = StoredEvent(event)
        key = time_key(event.occurred_at)
        max_events, max_keys, max_bytes = (
            self.max_events_per_tenant,
            self.max_idempotency_keys,
            self.max_bytes_per_tenant,
        )
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is not None:
                tenant.expire_keys(now - IDEMPOTENCY_TTL)
            needed = stored.size
            if idempotency_key is not None:
                first = tenant.keys.get(idempotency_key) if tenant is not None else None
                if first is not None:
                    return RecordedEvent(event=first.to_event(), created=False)
                if tenant is not None and len(tenant.keys) >= max_keys:
                    raise QuotaExceeded(
                        f"This tenant holds {max_keys} idempotency keys younger than 24 hours; "
                        "a new key is refused until the oldest expires (retry without a key "
                        "to record anyway)."
                    )
                needed += key_bytes(idempotency_key)
            held = tenant.bytes - tenant.evictable_bytes if tenant is not None else 0
            if held + needed > max_bytes:
                raise QuotaExceeded(
                    "This tenant's live idempotency keys hold its whole outcomes byte budget "
                    f"({max_bytes} bytes); retry when they expire."
                )
            if tenant is None:
                tenant = self._tenants[tenant_id] = TenantOutcomes()
            if idempotency_key is not None:
                tenant.remember_key(idempotency_key, stored, now)
            tenant.add((key, next(self._sequence)), stored)
            while len(tenant) and (len(tenant) > max_events or tenant.bytes > max_bytes):
                tenant.evict_oldest()
        return RecordedEvent(event=event, created=True)

    # --- reads ----------------------------------------------------------------------

    def list_events(
        self,
        *,
        tenant_id: str | None,
        domain: str | None = None,
        event_type: str | None = None,
        metric_type: MetricType | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
    ) -> list[OutcomeEvent]:
        """Events matching every given filter, newest occurred_at first, at most `limit`."""
        start_us = time_key(as_utc(since)) if since is not None else None
        end_us = time_key(as_utc(until)) + _ONE_MICROSECOND if until is not None else None
        with self._lock:
            stream = merge_newest_first(
                tenant.newest_first(
                    domain=domain, metric=metric_type, start_us=start_us, end_us=end_us
                )
                for tenant in self._scope(tenant_id)
            )
            if event_type is not None:
                stream = (entry for entry in stream if entry[1].event_type == event_type)
            return take(stream, limit)

    def compute_trend(
        self,
        *,
        tenant_id: str | None,
        metric_type: MetricType,
        domain: str | None = None,
        window: int = 20,
    ) -> OutcomeTrend:
        """The contract's trend rule over the last `window` values of the metric (and domain)."""
        with self._lock:
            return self._trend(self._scope(tenant_id), metric_type, domain, window)

    def dashboard(
        self,
        *,
        tenant_id: str | None,
        domain: str | None = None,
        window: int = 20,
        recent_limit: int = 10,
    ) -> Dashboard:
        """Trends, recent events, summary, week-over-week and top failure modes in one read."""
        now_us = time_key(self._clock())
        week_us = duration_key(WEEK)
        with self._lock:
            tenants = self._scope(tenant_id)
            trends = [self._trend(tenants, metric, domain, window) for metric in NUMERIC_METRICS]
            recent = take(
                merge_newest_first(
                    tenant.newest_first(domain=domain, metric=None, start_us=None, end_us=None)
                    for tenant in tenants
                ),
                recent_limit,
            )
            weeks = []
            for metric in NUMERIC_METRICS:
                series = self._series(tenants, metric, domain)
                current = _totals(series, now_us - week_us, now_us + _ONE_MICROSECOND)
                previous = _totals(series, now_us - 2 * week_us, now_us - week_us)
                weeks.append(
                    week_over_week(
                        metric_type=metric,
                        current_avg=current.average,
                        previous_avg=previous.average,
                    )
                )
            tally = self._tally(tenants, domain)
            summary = OutcomeSummary(
                total_events=tally.total,
                domains=sorted(tally.domains),
                event_types=sorted(tally.event_types),
                metric_counts={metric.value: tally.metrics.get(metric, 0) for metric in MetricType},
            )
            failure_modes = heapq.nsmallest(
                TOP_FAILURE_MODES, tally.failure_modes.items(), key=_most_frequent_first
            )
        return Dashboard(
            trends=trends,
            recent_events=recent,
            summary=summary,
            week_over_week=weeks,
            top_failure_modes=[
                FailureMode(failure_class=name, count=count) for name, count in failure_modes
            ],
        )

    def compute_roi(
        self,
        *,
        tenant_id: str | None,
        domain: str,
        hours_saved_per_success: float,
        cost_per_hour_usd: float,
        window_days: int = 30,
    ) -> RoiReport:
        """ROI of a domain over the last `window_days`: each success_rate event is an invocation."""
        now = self._clock()
        start_us = time_key(now - timedelta(days=window_days))
        end_us = time_key(now) + _ONE_MICROSECOND
        with self._lock:
            tenants = self._scope(tenant_id)
            invocations = _totals(
                self._series(tenants, MetricType.SUCCESS_RATE, domain), start_us, end_us
            )
            latency = _totals(
                self._series(tenants, MetricType.LATENCY_MS, domain), start_us, end_us
            )
        return roi_report(
            total_invocations=invocations.count,
            success_count=invocations.successes,
            avg_latency_ms=latency.average,
            hours_saved_per_success=hours_saved_per_success,
            cost_per_hour_usd=cost_per_hour_usd,
        )

    def health(self) -> HealthStatus:
        """Global: `ok` when any tenant's latest event occurred in the last 24 h."""
        now = self._clock()
        with self._lock:
            newest = max(
                (
                    key
                    for tenant in self._tenants.values()
                    if (key := tenant.timeline.newest_key()) is not None
                ),
                default=None,
            )
        if newest is None:
            return HealthStatus(status="stale", hours_since_last_event=None)
        age_us = time_key(now) - newest[0]
        if age_us <= duration_key(HEALTHY_WITHIN):
            return HealthStatus(status="ok")
        return HealthStatus(status="stale", hours_since_last_event=round(age_us / 3.6e9, 2))

    def count_events(self, *, tenant_id: str | None) -> int:
        with self._lock:
            return sum(len(tenant) for tenant in self._scope(tenant_id))

    # --- helpers (call with the lock held) ---------------------------------------------

    def _scope(self, tenant_id: str | None) -> list[TenantOutcomes]:
        if tenant_id is None:
            return list(self._tenants.values())
        tenant = self._tenants.get(tenant_id)
        return [tenant] if tenant is not None else []

    @staticmethod
    def _series(
        tenants: list[TenantOutcomes], metric: MetricType, domain: str | None
    ) -> list[MetricSeries]:
        return [s for tenant in tenants if (s := tenant.series(metric, domain)) is not None]

    def _trend(
        self, tenants: list[TenantOutcomes], metric: MetricType, domain: str | None, window: int
    ) -> OutcomeTrend:
        series = self._series(tenants, metric, domain)
        return evaluate_trend(
            metric_type=metric,
            values=merge_tails(series, window) if series else [],
            window=window,
            domain=domain if domain is not None else DOMAIN_ALL,
        )

    @staticmethod
    def _tally(tenants: list[TenantOutcomes], domain: str | None) -> Tally:
        tallies = [t for tenant in tenants if (t := tenant.tally_for(domain)) is not None]
        if len(tallies) == 1:
            return tallies[0]
        merged = Tally()
        for tally in tallies:
            merged.merge(tally)
        return merged


def _cap(configured: int | None, setting: str, default: int) -> int:
    if configured is None:
        configured = getattr(settings, setting, default)
    return max(1, int(configured))


def _totals(series: list[MetricSeries], start_us: int, end_us: int) -> RangeTotals:
    return sum((s.totals(start_us, end_us) for s in series), RangeTotals())


def _most_frequent_first(item: tuple[str, int]) -> tuple[int, str]:
    name, count = item
    return -count, name


_service: OutcomesService | None = None
_service_lock = threading.Lock()


def get_outcomes_service() -> OutcomesService:
    """The process-wide service the views use."""
    global _service
    if _service is None:
        with _service_lock:
            if _service is None:
                _service = OutcomesService()
    return _service


def install_outcomes_service(service: OutcomesService) -> OutcomesService:
    """Make `service` the one the views use (a test's fixed clock, the benchmark's data sets)."""
    global _service
    with _service_lock:
        _service = service
    return service


def reset_outcomes_service() -> OutcomesService:
    """A fresh, empty service in place of the current one."""
    return install_outcomes_service(OutcomesService())
