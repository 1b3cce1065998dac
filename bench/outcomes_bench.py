"""Outcomes benchmark: does reading stay flat as history grows? (issue 3)

For 1,000 and 100,000 stored events across 10 tenants (seeded straight into two
services; 100,000 is the default retention cap of 10,000 per tenant, so every
recorded event also evicts one), measures the median latency of recording an event, a trend and the
dashboard through the Django test client with a real tenant token, next to
`GET /healthz` in the same run. Targets: dashboard(100k) / dashboard(1k) <= 1.5,
and the dashboard median <= 3x the healthz median.

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
TENANTS = [f"bench-tenant-{n}" for n in range(10)]
DOMAINS = ["billing", "search", "support", "codegen"]
ROUNDS = 400
WARMUP_ROUNDS = 30
MAX_DASHBOARD_RATIO = 1.5
MAX_DASHBOARD_VS_HEALTHZ = 3.0
KINDS = ("record", "trend", "dashboard", "healthz")


def seeded_service(count: int) -> OutcomesService:
    """A service holding `count` events over 10 tenants and the last 14 days."""
    service = OutcomesService()
    rng = random.Random(33)
    metrics = list(MetricType)
    per_tenant = count // len(TENANTS)
    start = datetime.now(UTC) - timedelta(days=14)
    step = timedelta(days=14) / per_tenant
    gc.disable()  # seeding allocates ~1M long-lived objects; collecting midway only wastes time
    try:
        for tenant in TENANTS:
            for i in range(per_tenant):
                metric = metrics[i % len(metrics)]
                service.record_event(
                    tenant_id=tenant,
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
    return {
        "record": (
            lambda: client.post(
                "/v1/outcomes/events", event, content_type="application/json", **auth
            ),
            201,
        ),
        "trend": (lambda: client.get("/v1/outcomes/trends/latency_ms", **auth), 200),
        "dashboard": (lambda: client.get("/v1/outcomes/dashboard", **auth), 200),
        "healthz": (lambda: client.get("/healthz"), 200),
    }


def main() -> int:
    token = issue_token(
        sub="bench", scopes=["outcomes:read", "outcomes:write"], tenant_id=TENANTS[0]
    )
    calls = requests(Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"})
    services = {}
    for size in SIZES:
        started = time.perf_counter()
        services[size] = seeded_service(size)
        seconds = time.perf_counter() - started
        print(f"seeded {size:>7,} events across {len(TENANTS)} tenants in {seconds:.2f} s")

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
    print(f"{'events':>9} | {'record':>8} | {'trend':>8} | {'dashboard':>9} | {'healthz':>8}")
    print("-" * 55)
    for size, row in medians.items():
        print(
            f"{size:>9,} | {row['record']:>8.3f} | {row['trend']:>8.3f} | "
            f"{row['dashboard']:>9.3f} | {row['healthz']:>8.3f}"
        )
    small, large = medians[SIZES[0]], medians[SIZES[-1]]
    ratio = large["dashboard"] / small["dashboard"]
    print()
    print(f"dashboard(100k) / dashboard(1k) = {ratio:.2f}  (target <= {MAX_DASHBOARD_RATIO})")
    met = ratio <= MAX_DASHBOARD_RATIO
    for size, row in medians.items():
        vs_healthz = row["dashboard"] / row["healthz"]
        met = met and vs_healthz <= MAX_DASHBOARD_VS_HEALTHZ
        print(
            f"dashboard / healthz at {size:>7,} = {vs_healthz:.2f}  "
            f"(target <= {MAX_DASHBOARD_VS_HEALTHZ})"
        )
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
