"""What the outcomes service tests share: a settable clock and a one-line event writer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outcomes.domain import MetricType, OutcomeEvent
from outcomes.services import OutcomesService


class FixedClock:
    """A clock that says `now` until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def record(service: OutcomesService, *, tenant: str = "t1", **fields: Any) -> OutcomeEvent:
    """Record one event (a success_rate of 1.0 in domain `support` unless told otherwise)."""
    fields.setdefault("domain", "support")
    fields.setdefault("event_type", "run")
    fields.setdefault("metric_type", MetricType.SUCCESS_RATE)
    fields.setdefault("value", 1.0)
    return service.record_event(tenant_id=tenant, **fields).event
