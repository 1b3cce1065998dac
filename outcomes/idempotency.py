"""Idempotency keys of `POST /v1/outcomes/events`: a retry returns the first event.

Keys are per tenant and remembered for `ttl` (24 h); each tenant keeps at most
`max_keys` of them (the oldest go first), so the store stays bounded. The caller
(`OutcomesService`) holds its lock around every call.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from .domain import OutcomeEvent


class IdempotencyStore:
    def __init__(self, *, ttl: timedelta, max_keys: int) -> None:
        self.ttl = ttl
        self.max_keys = max_keys
        # tenant -> key -> (remembered at, event), oldest first
        self._by_tenant: dict[str, OrderedDict[str, tuple[datetime, OutcomeEvent]]] = {}

    def lookup(self, *, tenant_id: str, key: str, now: datetime) -> OutcomeEvent | None:
        keys = self._by_tenant.get(tenant_id)
        if keys is None:
            return None
        self._expire(tenant_id, keys, now)
        entry = keys.get(key)
        return entry[1] if entry is not None else None

    def remember(self, *, tenant_id: str, key: str, event: OutcomeEvent, now: datetime) -> None:
        keys = self._by_tenant.setdefault(tenant_id, OrderedDict())
        keys[key] = (now, event)
        while len(keys) > self.max_keys:
            keys.popitem(last=False)

    def _expire(
        self, tenant_id: str, keys: OrderedDict[str, tuple[datetime, OutcomeEvent]], now: datetime
    ) -> None:
        cutoff = now - self.ttl
        while keys and next(iter(keys.values()))[0] <= cutoff:
            keys.popitem(last=False)
        if not keys:
            del self._by_tenant[tenant_id]

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._by_tenant.values())
