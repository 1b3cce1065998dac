"""`OutcomesService`: the only place outcome events are recorded, and every read over them.

Events live in an `EventStore` (`store.py`); the service validates, stamps ids and times,
and does the maths (trend rule, week over week, ROI, health) on what the store returns,
with a constant number of store calls per request. `tenant_id` is keyword-only
everywhere: a string limits a call to that tenant, `None` means an operator reading
every tenant.

Bounds per tenant (settings, defaults in brackets): `OUTCOMES_MAX_EVENTS_PER_TENANT`
[10,000] events and `OUTCOMES_MAX_BYTES_PER_TENANT` [64 MiB] of events and keys, the
oldest events by occurred_at evicted first; `OUTCOMES_MAX_IDEMPOTENCY_KEYS` [10,000]
live keys, each kept 24 h and never dropped earlier (a new keyed write past the cap,
or a write that eviction cannot make room for, is a 429 `quota_exceeded`).

Worst case per tenant at the defaults: `WORST_CASE_BYTES_PER_TENANT`, the 64 MiB budget
(67.1 MB). Bytes are counted at or above what CPython really holds: an event is
`index.RECORD_OVERHEAD_BYTES` (3,000) + its metadata as compact JSON (at most 16 KiB,
stored as bytes, never as parsed objects) as a heap block + its two texts as kept
(`agent33_core.sizing`: a non-ASCII text also keeps a UTF-8 copy once rendered); a key
200 bytes plus its text as kept. An event evicted from the timeline while its idempotency key
lives stays counted until the key expires (the key returns it). So a tenant keeps its
10,000 events when they are small, about 3,100 at the largest metadata, about 2,000
when their texts are also at their longest in non-BMP characters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from agent33_core.clock import new_id, utc_now
from agent33_core.errors import DomainError
from agent33_core.metrics import count_ingested_event
from agent33_core.registry import services

from .domain import (
    DOMAIN_ALL,
    ID_PREFIX,
    NUMERIC_METRICS,
    Dashboard,
    HealthStatus,
    MetricType,
    OutcomeEvent,
    OutcomeTrend,
    RoiReport,
    evaluate_trend,
    roi_report,
    week_over_week,
)
from .experiments import observe_event
from .index import time_key
from .store import EventCaps, EventStore, make_event_store

DEFAULT_MAX_EVENTS_PER_TENANT = 10_000
DEFAULT_MAX_IDEMPOTENCY_KEYS = 10_000
DEFAULT_MAX_BYTES_PER_TENANT = 64 * 1024 * 1024
# A write evicts in the same atomic step, so what a tenant holds never exceeds its budget.
WORST_CASE_BYTES_PER_TENANT = DEFAULT_MAX_BYTES_PER_TENANT
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_FUTURE_SKEW = timedelta(minutes=5)
HEALTHY_WITHIN = timedelta(hours=24)
WEEK = timedelta(days=7)
TOP_FAILURE_MODES = 10

_JUST_AFTER = timedelta(microseconds=1)  # spans end before their bound; this makes "now" count


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
        store: EventStore | None = None,
    ) -> None:
        # None reads the setting, again whenever a setting changes (a test's override applies).
        self._max_events_per_tenant = max_events_per_tenant
        self._max_idempotency_keys = max_idempotency_keys
        self._max_bytes_per_tenant = max_bytes_per_tenant
        self._clock = clock
        self._store = store if store is not None else make_event_store()
        self._caps: tuple[int, EventCaps] | None = None  # (settings generation, caps)

    @property
    def caps(self) -> EventCaps:
        cached = self._caps
        if cached is None or cached[0] != _settings_generation:
            cached = self._caps = (_settings_generation, self._read_caps())
        return cached[1]

    def _read_caps(self) -> EventCaps:
        return EventCaps(
            max_events=_cap(
                self._max_events_per_tenant,
                "OUTCOMES_MAX_EVENTS_PER_TENANT",
                DEFAULT_MAX_EVENTS_PER_TENANT,
            ),
            max_keys=_cap(
                self._max_idempotency_keys,
                "OUTCOMES_MAX_IDEMPOTENCY_KEYS",
                DEFAULT_MAX_IDEMPOTENCY_KEYS,
            ),
            max_bytes=_cap(
                self._max_bytes_per_tenant,
                "OUTCOMES_MAX_BYTES_PER_TENANT",
                DEFAULT_MAX_BYTES_PER_TENANT,
            ),
            key_ttl=IDEMPOTENCY_TTL,
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
            id=new_id(ID_PREFIX),
            tenant_id=tenant_id,
            domain=domain,
            event_type=event_type,
            metric_type=metric_type,
            value=value,
            occurred_at=occurred,
            metadata=dict(metadata or {}),
        )
        stored, created = self._store.insert(
            event, caps=self.caps, now=now, idempotency_key=idempotency_key
        )
        if created:  # an idempotent replay recorded nothing
            count_ingested_event(stored.metric_type.value)
            if "experiment" in stored.metadata:  # contract §8: the event joins an experiment
                observe_event(stored)
        return RecordedEvent(event=stored, created=created)

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
        return self._store.newest(
            tenant_id=tenant_id,
            domain=domain,
            event_type=event_type,
            metric_type=metric_type,
            since=as_utc(since) if since is not None else None,
            until=as_utc(until) if until is not None else None,
            limit=limit,
        )

    def compute_trend(
        self,
        *,
        tenant_id: str | None,
        metric_type: MetricType,
        domain: str | None = None,
        window: int = 20,
    ) -> OutcomeTrend:
        """The contract's trend rule over the last `window` values of the metric (and domain)."""
        tails = self._store.tails(
            tenant_id=tenant_id, domain=domain, metrics=(metric_type,), count=window
        )
        return _trend(metric_type, tails[metric_type], domain, window)

    def dashboard(
        self,
        *,
        tenant_id: str | None,
        domain: str | None = None,
        window: int = 20,
        recent_limit: int = 10,
    ) -> Dashboard:
        """Trends, recent events, summary, week-over-week and top failure modes."""
        now = self._clock()
        tails, recent, totals, (summary, failure_modes) = self._store.dashboard_reads(
            tenant_id=tenant_id,
            domain=domain,
            metrics=NUMERIC_METRICS,
            count=window,
            recent_limit=recent_limit,
            spans=((now - WEEK, now + _JUST_AFTER), (now - 2 * WEEK, now - WEEK)),
            top_failure_modes=TOP_FAILURE_MODES,
        )
        return Dashboard(
            trends=[_trend(metric, tails[metric], domain, window) for metric in NUMERIC_METRICS],
            recent_events=recent,
            summary=summary,
            week_over_week=[
                week_over_week(
                    metric_type=metric,
                    current_avg=totals[metric][0].average,
                    previous_avg=totals[metric][1].average,
                )
                for metric in NUMERIC_METRICS
            ],
            top_failure_modes=failure_modes,
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
        totals = self._store.totals(
            tenant_id=tenant_id,
            domain=domain,
            metrics=(MetricType.SUCCESS_RATE, MetricType.LATENCY_MS),
            spans=((now - timedelta(days=window_days), now + _JUST_AFTER),),
        )
        invocations = totals[MetricType.SUCCESS_RATE][0]
        return roi_report(
            total_invocations=invocations.count,
            success_count=invocations.successes,
            avg_latency_ms=totals[MetricType.LATENCY_MS][0].average,
            hours_saved_per_success=hours_saved_per_success,
            cost_per_hour_usd=cost_per_hour_usd,
        )

    def health(self) -> HealthStatus:
        """Global: `ok` when any tenant's latest event occurred in the last 24 h."""
        now = self._clock()
        newest = self._store.newest_occurred_at()
        if newest is None:
            return HealthStatus(status="stale", hours_since_last_event=None)
        if now - newest <= HEALTHY_WITHIN:
            return HealthStatus(status="ok")
        age_us = time_key(now) - time_key(newest)
        return HealthStatus(status="stale", hours_since_last_event=round(age_us / 3.6e9, 2))

    def count_events(self, *, tenant_id: str | None) -> int:
        return self._store.count(tenant_id=tenant_id)


def _trend(
    metric: MetricType, values: list[float], domain: str | None, window: int
) -> OutcomeTrend:
    return evaluate_trend(
        metric_type=metric,
        values=values,
        window=window,
        domain=domain if domain is not None else DOMAIN_ALL,
    )


_settings_generation = 0


def _count_settings_change(**kwargs: Any) -> None:
    global _settings_generation
    _settings_generation += 1


setting_changed.connect(_count_settings_change, dispatch_uid="outcomes.caps")


def _cap(configured: int | None, setting: str, default: int) -> int:
    if configured is None:
        configured = getattr(settings, setting, default)
    return max(1, int(configured))


# The process-wide service the views use; tests reset it with `services.reset_all()`.
outcomes_service = services.register("outcomes", OutcomesService)


def get_outcomes_service() -> OutcomesService:
    return outcomes_service.get()
