"""Outcomes benchmark: do reads and writes stay flat as history grows? (issues 3 and 15)

For 1,000 and 100,000 stored events of one tenant (seeded straight into two services
whose per-tenant caps are raised to 100,000 events, as OUTCOMES_MAX_EVENTS_PER_TENANT
can; the larger one is full, so every recorded event also evicts one: the "cap full"
row), measures the median latency of
recording an event (now, and backfilled 13 days back into the middle of the history), a
trend and the dashboard through the Django test client with a real tenant token, next to
`GET /healthz` in the same run. Targets, each a ratio of medians:
- dashboard(100k) / dashboard(1k) <= 1.5, and the dashboard <= 3x healthz;
- backfilled record(100k) / backfilled record(1k) <= 1.5 (writes are history-independent);
- record(100k, cap full) / record(1k) <= 1.5 (eviction is O(1) amortised);
- record <= 1.3x healthz.
Memory at 100k events, printed: RSS and garbage-collector-tracked objects per stored event
(targets <= 1,500 bytes and <= 2), and how long a full `gc.collect()` takes with the
start-up objects frozen (as the WSGI/ASGI entry points do) and without.

Run: `.venv/bin/python bench/outcomes_bench.py` (or `make bench`). Exit status 1
when a target is missed.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agent33_site.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")

import django

django.setup()

from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402

from agent33_site.security.tokens import issue_token  # noqa: E402
from outcomes.domain import MetricType  # noqa: E402
from outcomes.services import OutcomesService, outcomes_service  # noqa: E402

SIZES = (1_000, 100_000)
TENANT = "bench-tenant"
DOMAINS = ["billing", "search", "support", "codegen"]
ROUNDS = 400
WARMUP_ROUNDS = 30
MAX_DASHBOARD_RATIO = 1.5
MAX_DASHBOARD_VS_HEALTHZ = 3.0
MAX_WRITE_RATIO = 1.5
MAX_RECORD_VS_HEALTHZ = 1.3
MAX_RSS_PER_EVENT = 1_500
MAX_TRACKED_PER_EVENT = 2.0
BACKFILL_AGE = timedelta(days=13)
KINDS = ("record", "backfill", "trend", "dashboard", "healthz")


def seeded_service(count: int) -> OutcomesService:
    """A service holding `count` events of one tenant over the last 14 days, full at 100k."""
    service = OutcomesService(
        max_events_per_tenant=SIZES[-1], max_bytes_per_tenant=SIZES[-1] * 4 * 1024
    )
    rng = random.Random(33)
    metrics = list(MetricType)
    start = datetime.now(UTC) - timedelta(days=14)
    step = timedelta(days=14) / count
    gc.disable()  # seeding allocates ~1M long-lived objects; collecting midway only wastes time
    try:
        for i in range(count):
            metric = metrics[i % len(metrics)]
            service.record_event(
                tenant_id=TENANT,
                domain=DOMAINS[i % len(DOMAINS)],
                event_type=f"invocation-{i % 3}",
                metric_type=metric,
                value=rng.random() * (1000 if metric is MetricType.LATENCY_MS else 1.5),
                occurred_at=start + step * i,
                metadata={"failure_class": f"fc-{i % 13}"}
                if metric is MetricType.FAILURE_CLASS
                else None,
            )
    finally:
        gc.enable()
    return service


def timed(call: Callable[[], HttpResponse], expected_status: int) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    if response.status_code != expected_status:
        raise SystemExit(f"unexpected {response.status_code}: {response.content[:200]!r}")
    return elapsed * 1000


def requests(client: Client, auth: dict[str, str]) -> dict[str, tuple[Callable, int]]:
    event = (
        '{"domain": "billing", "event_type": "invocation-0", "metric_type": "latency_ms", '
        '"value": 123.4}'
    )
    backfilled_at = (datetime.now(UTC) - BACKFILL_AGE).isoformat()
    backfilled = event[:-1] + f', "occurred_at": "{backfilled_at}"}}'
    return {
        "record": (
            lambda: client.post(
                "/v1/outcomes/events", event, content_type="application/json", **auth
            ),
            201,
        ),
        "backfill": (
            lambda: client.post(
                "/v1/outcomes/events", backfilled, content_type="application/json", **auth
            ),
            201,
        ),
        "trend": (lambda: client.get("/v1/outcomes/trends/latency_ms", **auth), 200),
        "dashboard": (lambda: client.get("/v1/outcomes/dashboard", **auth), 200),
        "healthz": (lambda: client.get("/healthz"), 200),
    }


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def full_collection_ms() -> float:
    """The median of five full collections, in milliseconds."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    token = issue_token(sub="bench", scopes=["outcomes:read", "outcomes:write"], tenant_id=TENANT)
    calls = requests(Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"})
    calls["record"][0]()  # the first request imports and builds what every later one reuses
    gc.collect()
    gc.freeze()  # what agent33_site.wsgi/asgi do once the project is loaded
    services = {}
    memory = {}
    for size in SIZES:
        gc.collect()
        objects, resident = len(gc.get_objects()), resident_bytes()
        started = time.perf_counter()
        services[size] = seeded_service(size)
        seconds = time.perf_counter() - started
        gc.collect()
        memory[size] = (
            (resident_bytes() - resident) / size,
            (len(gc.get_objects()) - objects) / size,
        )
        print(f"seeded {size:>7,} events of one tenant in {seconds:.2f} s")
    largest = SIZES[-1]
    rss_per_event, tracked_per_event = memory[largest]
    collection_frozen = full_collection_ms()
    gc.unfreeze()
    collection_unfrozen = full_collection_ms()
    gc.freeze()

    # Round-robin, one request of each kind per size per round, so that whatever else the
    # machine is doing slows every column alike; the first rounds only warm up.
    timings = {size: {kind: [] for kind in KINDS} for size in SIZES}
    for round_number in range(WARMUP_ROUNDS + ROUNDS):
        for size in SIZES:
            outcomes_service.install(services[size])
            for kind, (call, expected) in calls.items():
                elapsed = timed(call, expected)
                if round_number >= WARMUP_ROUNDS:
                    timings[size][kind].append(elapsed)
    medians = {
        size: {kind: statistics.median(values) for kind, values in row.items()}
        for size, row in timings.items()
    }

    print()
    print(f"median latency (ms), {ROUNDS} requests each")
    print(" | ".join(f"{name:>9}" for name in ("events", *KINDS)))
    print("-" * 65)
    for size, row in medians.items():
        print(" | ".join([f"{size:>9,}", *(f"{row[kind]:>9.3f}" for kind in KINDS)]))
    small, large = medians[SIZES[0]], medians[largest]
    checks = [
        (
            "dashboard(100k) / dashboard(1k)",
            large["dashboard"] / small["dashboard"],
            MAX_DASHBOARD_RATIO,
        ),
        ("backfilled record(100k) / (1k)", large["backfill"] / small["backfill"], MAX_WRITE_RATIO),
        (
            "record(100k, cap full: evicts) / (1k)",
            large["record"] / small["record"],
            MAX_WRITE_RATIO,
        ),
    ]
    for size, row in medians.items():
        checks.append(
            (
                f"dashboard / healthz at {size:,}",
                row["dashboard"] / row["healthz"],
                MAX_DASHBOARD_VS_HEALTHZ,
            )
        )
        checks.append(
            (f"record / healthz at {size:,}", row["record"] / row["healthz"], MAX_RECORD_VS_HEALTHZ)
        )
    checks.append(("RSS bytes per stored event at 100k", rss_per_event, MAX_RSS_PER_EVENT))
    checks.append(("GC-tracked objects per stored event", tracked_per_event, MAX_TRACKED_PER_EVENT))
    print()
    met = True
    for name, value, target in checks:
        met = met and value <= target
        mark = "" if value <= target else "  MISSED"
        print(f"{name:<40} = {value:>8.2f}  (target <= {target}){mark}")
    print(f"{'full gc.collect() at 100k, start-up frozen':<40} = {collection_frozen:>8.1f} ms")
    print(f"{'full gc.collect() at 100k, nothing frozen':<40} = {collection_unfrozen:>8.1f} ms")
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
