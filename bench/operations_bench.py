"""Hub latency does not grow with finished history, and costs about what the dashboard does.

Seeds the four operations sources directly (spread over 20 tenants, so no tenant reaches
the retention cap), then times `GET /v1/operations/hub` through Django's test client
with a real operator token (and a tenant-narrowed read), alternating between the two
datasets (1k and 100k finished records, 1k live) held in memory so machine load hits both
alike. In the same rounds it times the bench tenant's `GET /v1/outcomes/dashboard` over
1,000 outcome events of that tenant (seeded straight into an `OutcomesService` and
installed, as bench/outcomes_bench.py does), the yardstick of a cheap read. Targets:
hub(100k) / hub(1k) <= 1.5 for every view, and hub / dashboard <= 1.2 for the default
view (operator and tenant, 100k finished).

Run: `.venv/bin/python bench/operations_bench.py` (or `make bench`); exit status 1 when
a target is missed. `--profile` instead prints a cProfile of the operator's default view.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agent33_site.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")

import django

django.setup()

from django.test import Client  # noqa: E402

from agent33_core.clock import new_id  # noqa: E402
from agent33_core.registry import services  # noqa: E402
from agent33_site.security.tokens import issue_token  # noqa: E402
from operations.sources.budgets.domain import AutonomyBudget, BudgetState  # noqa: E402
from operations.sources.budgets.services import budgets_service  # noqa: E402
from operations.sources.intakes.domain import ImprovementIntake, IntakeStatus  # noqa: E402
from operations.sources.intakes.services import intakes_service  # noqa: E402
from operations.sources.traces.domain import Trace, TraceStatus  # noqa: E402
from operations.sources.traces.services import traces_service  # noqa: E402
from operations.sources.workflows.domain import (  # noqa: E402
    TriggerType,
    WorkflowRun,
    WorkflowRunStatus,
)
from operations.sources.workflows.services import workflow_runs_service  # noqa: E402
from outcomes.domain import MetricType  # noqa: E402
from outcomes.services import OutcomesService, outcomes_service  # noqa: E402

TENANTS = [f"tenant-{i:02d}" for i in range(20)]
LIVE = 1_000
SIZES = (1_000, 100_000)
REQUESTS = 200
WARMUP = 10
MAX_HISTORY_RATIO = 1.5
# The yardstick: the bench tenant's outcomes dashboard over 1,000 events of that tenant.
OUTCOME_EVENTS = 1_000
OUTCOME_DOMAINS = ["billing", "search", "support", "codegen"]
MAX_HUB_VS_DASHBOARD = 1.2
PROFILED_REQUESTS = 300


def _trace(i: int, status: TraceStatus, at: datetime) -> Trace:
    return Trace(
        id=new_id("trace"),
        tenant_id=TENANTS[i % len(TENANTS)],
        task_id=f"task-{i}",
        session_id="s",
        run_id="r",
        agent_id="a",
        agent_role="coder",
        model="m",
        status=status,
        started_at=at,
        created_at=at,
        updated_at=at,
    )


def _budget(i: int, state: BudgetState, at: datetime) -> AutonomyBudget:
    return AutonomyBudget(
        id=new_id("budget"),
        tenant_id=TENANTS[i % len(TENANTS)],
        task_id=f"task-{i}",
        agent_id="a",
        state=state,
        started_at=at,
        created_at=at,
        updated_at=at,
    )


def _intake(i: int, status: IntakeStatus, at: datetime) -> ImprovementIntake:
    return ImprovementIntake(
        id=new_id("intake"),
        tenant_id=TENANTS[i % len(TENANTS)],
        title=f"idea {i}",
        research_type="external",
        urgency="medium",
        status=status,
        started_at=at,
        created_at=at,
        updated_at=at,
    )


def _run(i: int, status: WorkflowRunStatus, at: datetime) -> WorkflowRun:
    return WorkflowRun(
        id=new_id("wfrun"),
        tenant_id=TENANTS[i % len(TENANTS)],
        workflow_name=f"wf-{i % 50}",
        trigger_type=TriggerType.SCHEDULED,
        status=status,
        started_at=at,
        created_at=at,
        updated_at=at,
    )


# The registered services behind the four sources; a data set is swapped in with `install`.
HANDLES = (traces_service, budgets_service, intakes_service, workflow_runs_service)


def seed(finished: int, live: int) -> None:
    """`finished` records of history (older than the hub's 24 h window) and `live` live ones."""
    now = datetime.now(UTC)
    plan = [
        (traces_service, _trace, TraceStatus.COMPLETED, TraceStatus.RUNNING),
        (budgets_service, _budget, BudgetState.EXPIRED, BudgetState.ACTIVE),
        (intakes_service, _intake, IntakeStatus.TRACKED, IntakeStatus.ANALYZING),
        (workflow_runs_service, _run, WorkflowRunStatus.COMPLETED, WorkflowRunStatus.RUNNING),
    ]
    for handle, make, done_status, live_status in plan:
        store = handle.get()._store  # the bench seeds the store directly: fast, no HTTP
        per_source = finished // len(plan)
        for i in range(per_source):
            at = now - timedelta(days=30) + timedelta(seconds=i * (28 * 86400 / per_source))
            store.insert(make(i, done_status, at))
        for i in range(live // len(plan)):
            store.insert(make(i, live_status, now - timedelta(minutes=i % 600)))


def seeded_services(finished: int) -> list:
    """Fresh services holding `finished` + LIVE records; swapped in with `activate`."""
    services.reset_all()
    started = time.perf_counter()
    seed(finished, LIVE)
    print(f"seeded {finished:,} finished + {LIVE:,} live in {time.perf_counter() - started:.1f} s")
    return [handle.get() for handle in HANDLES]


def activate(prepared: list) -> None:
    for handle, service in zip(HANDLES, prepared, strict=True):
        handle.install(service)


def seeded_outcomes() -> OutcomesService:
    """An outcomes service holding OUTCOME_EVENTS events of the bench tenant (14 days)."""
    service = OutcomesService()
    rng = random.Random(33)
    metrics = list(MetricType)
    start = datetime.now(UTC) - timedelta(days=14)
    step = timedelta(days=14) / OUTCOME_EVENTS
    for i in range(OUTCOME_EVENTS):
        metric = metrics[i % len(metrics)]
        service.record_event(
            tenant_id=TENANTS[0],
            domain=OUTCOME_DOMAINS[i % len(OUTCOME_DOMAINS)],
            event_type=f"invocation-{i % 3}",
            metric_type=metric,
            value=rng.random() * (1000 if metric is MetricType.LATENCY_MS else 1.5),
            occurred_at=start + step * i,
            metadata={"failure_class": f"fc-{i % 13}"}
            if metric is MetricType.FAILURE_CLASS
            else None,
        )
    return service


def timed_get(client: Client, path: str, token: str) -> float:
    started = time.perf_counter()
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.content
    return elapsed


def profile(client: Client, path: str, token: str) -> int:
    """cProfile of PROFILED_REQUESTS hub requests (after a warm-up): where the time goes."""
    for _ in range(WARMUP):
        timed_get(client, path, token)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(PROFILED_REQUESTS):
        client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    return 0


def main() -> int:
    client = Client()
    operator = issue_token(sub="bench", scopes=["workflows:read"], ttl_seconds=3600)
    tenant = issue_token(
        sub="bench-t",
        scopes=["workflows:read", "outcomes:read"],
        tenant_id=TENANTS[0],
        ttl_seconds=3600,
    )
    views = [
        ("operator, default view", "/v1/operations/hub", operator),
        ("tenant, default view", "/v1/operations/hub", tenant),
        ("operator, status=running", "/v1/operations/hub?status=running", operator),
    ]
    datasets = {size: seeded_services(size) for size in SIZES}
    if "--profile" in sys.argv[1:]:
        activate(datasets[SIZES[-1]])
        return profile(client, views[0][1], views[0][2])
    dashboard = seeded_outcomes()
    outcomes_service.install(dashboard)
    # Both datasets stay in memory and the requests alternate between them (the dashboard
    # after each data set's hub requests), so load from other processes on the machine
    # hits every column alike.
    samples = {(size, i): [] for size in SIZES for i in range(len(views))}
    dashboard_samples: list[float] = []
    for round_index in range(WARMUP + REQUESTS):
        for size in SIZES:
            activate(datasets[size])
            for i, (_, path, token) in enumerate(views):
                elapsed = timed_get(client, path, token)
                if round_index >= WARMUP:
                    samples[(size, i)].append(elapsed)
            elapsed = timed_get(client, "/v1/outcomes/dashboard", tenant)
            if round_index >= WARMUP:
                dashboard_samples.append(elapsed)
    services.reset_all()
    medians = {key: statistics.median(values) for key, values in samples.items()}
    dashboard_p50 = statistics.median(dashboard_samples)

    print()
    print(f"GET /v1/operations/hub, median of {REQUESTS} requests (ms), {LIVE:,} live records")
    print(f"{'view':<28}{'1k finished':>14}{'100k finished':>16}{'ratio':>8}")
    worst = 0.0
    for i, (label, _, _) in enumerate(views):
        small, large = medians[(SIZES[0], i)], medians[(SIZES[-1], i)]
        worst = max(worst, large / small)
        print(f"{label:<28}{small:>14.2f}{large:>16.2f}{large / small:>8.2f}")
    met = worst <= MAX_HISTORY_RATIO
    verdict = "OK" if met else "ABOVE TARGET"
    print(f"worst ratio {worst:.2f} (target <= {MAX_HISTORY_RATIO}): {verdict}")

    print()
    print(
        f"hub p50 / dashboard p50 (tenant's GET /v1/outcomes/dashboard, "
        f"{OUTCOME_EVENTS:,} events: {dashboard_p50:.2f} ms), {SIZES[-1]:,} finished"
    )
    for i in (0, 1):  # the default view, operator and tenant
        label, hub_p50 = views[i][0], medians[(SIZES[-1], i)]
        ratio = hub_p50 / dashboard_p50
        ok = ratio <= MAX_HUB_VS_DASHBOARD
        met = met and ok
        print(
            f"{label:<28}{hub_p50:>8.2f} / {dashboard_p50:.2f} = {ratio:.2f} "
            f"(target <= {MAX_HUB_VS_DASHBOARD}): {'OK' if ok else 'ABOVE TARGET'}"
        )
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
