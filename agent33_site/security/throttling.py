"""Per-principal rate limits (contract §1 `rate_limited`, §6): a DRF throttle on Django's cache.

`AGENT33_RATE_LIMITS` is empty (off, the default), one rate for every request of a
principal (`"600/min"`), or rates per kind of request (`"read=600/min,write=120/min"`;
read is GET/HEAD/OPTIONS, write the rest; a plain rate and kinds combine). A rate is
`<count>/<unit>`, unit `s`, `sec`, `second`, `m`, `min`, `minute`, `h`, `hour`, `d` or
`day`. Windows are fixed and counted with one atomic increment in the cache (LocMem in one
process, Redis across processes), so two processes never both admit the last request.
Requests without a principal (public probes) are never limited.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

ALL, READ, WRITE = "all", "read", "write"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_RATE = re.compile(r"([0-9]+)/([a-z]+)")
_FORMAT = 'e.g. "600/min" or "read=600/min,write=120/min"'


class Rate(NamedTuple):
    count: int
    seconds: int


def parse_rate_limits(raw: str) -> dict[str, Rate]:
    """`AGENT33_RATE_LIMITS` as `{kind: Rate}` ({} = off); ImproperlyConfigured when bad."""
    limits: dict[str, Rate] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item and raw.strip() == "":
            continue
        kind, sep, rate = item.partition("=")
        kind, rate = (kind.strip(), rate.strip()) if sep else (ALL, kind)
        match = _RATE.fullmatch(rate)
        if (
            kind not in (ALL, READ, WRITE)
            or match is None
            or match[2] not in UNIT_SECONDS
            or int(match[1]) < 1
        ):
            raise ImproperlyConfigured(
                f"AGENT33_RATE_LIMITS: cannot read {item!r}; write <count>/<unit> with a count "
                f"of at least 1 and a unit in {sorted(set(UNIT_SECONDS))}, optionally as "
                f"read=<rate> or write=<rate>, comma-separated ({_FORMAT})."
            )
        if kind in limits:
            raise ImproperlyConfigured(f"AGENT33_RATE_LIMITS: {kind!r} is given twice.")
        limits[kind] = Rate(int(match[1]), UNIT_SECONDS[match[2]])
    return limits


_parsed: tuple[str, dict[str, Rate]] = ("", {})


def configured_limits() -> dict[str, Rate]:
    """The limits in force (parsed once per value of the setting)."""
    global _parsed
    raw = settings.AGENT33_RATE_LIMITS
    if raw != _parsed[0]:
        _parsed = (raw, parse_rate_limits(raw))
    return _parsed[1]


class PrincipalRateThrottle(BaseThrottle):
    """Counts each principal's requests (by sub and tenant) in fixed windows."""

    def __init__(self) -> None:
        self._wait = 0.0

    def allow_request(self, request, view) -> bool:
        if not settings.AGENT33_RATE_LIMITS:
            return True
        principal = request.auth
        if not hasattr(principal, "sub"):
            return True
        limits = configured_limits()
        kind = READ if request.method in READ_METHODS else WRITE
        who = hashlib.sha256(f"{principal.tenant_id}\0{principal.sub}".encode()).hexdigest()[:32]
        now = time.time()
        for bucket in (ALL, kind):
            rate = limits.get(bucket)
            if rate is None:
                continue
            window = int(now // rate.seconds)
            key = f"ratelimit:{bucket}:{rate.count}:{rate.seconds}:{window}:{who}"
            if _count(key, ttl=2 * rate.seconds) > rate.count:
                self._wait = max(self._wait, (window + 1) * rate.seconds - now)
        return self._wait == 0.0

    def wait(self) -> float | None:
        return math.ceil(self._wait) or 1


def _count(key: str, *, ttl: int) -> int:
    """This request's number in the window: one atomic increment (the key is made once)."""
    try:
        return cache.incr(key)
    except ValueError:  # the window's first request
        if cache.add(key, 1, timeout=ttl):
            return 1
        return cache.incr(key)
