"""Hub latency does not grow with finished history: 1k vs 100k finished records, 1k live.

Seeds the four operations sources directly (spread over 20 tenants, so no tenant reaches
the retention cap), then times `GET /v1/operations/hub` through Django's test client
with a real operator token (and a tenant-narrowed read), alternating between the two
datasets held in memory so machine load hits both alike. Target: ratio <= 1.5.

Run: `.venv/bin/python bench/operations_bench.py` (or `make bench`).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agent33_site.settings")

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

TENANTS = [f"tenant-{i:02d}" for i in range(20)]
LIVE = 1_000
REQUESTS = 80
WARMUP = 5


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


def timed_get(client: Client, path: str, token: str) -> float:
    started = time.perf_counter()
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.content
    return elapsed


def main() -> int:
    client = Client()
    operator = issue_token(sub="bench", scopes=["workflows:read"], ttl_seconds=3600)
    tenant = issue_token(
        sub="bench-t", scopes=["workflows:read"], tenant_id=TENANTS[0], ttl_seconds=3600
    )
    views = [
        ("operator, default view", "/v1/operations/hub", operator),
        ("tenant, default view", "/v1/operations/hub", tenant),
        ("operator, status=running", "/v1/operations/hub?status=running", operator),
    ]
    sizes = (1_000, 100_000)
    datasets = {size: seeded_services(size) for size in sizes}
    # Both datasets stay in memory and the requests alternate between them, so load from
    # other processes on the machine hits both sides alike.
    samples = {(size, i): [] for size in sizes for i in range(len(views))}
    for round_index in range(WARMUP + REQUESTS):
        for size in sizes:
            activate(datasets[size])
            for i, (_, path, token) in enumerate(views):
                elapsed = timed_get(client, path, token)
                if round_index >= WARMUP:
                    samples[(size, i)].append(elapsed)
    services.reset_all()

    print()
    print(f"GET /v1/operations/hub, median of {REQUESTS} requests (ms), {LIVE:,} live records")
    print(f"{'view':<28}{'1k finished':>14}{'100k finished':>16}{'ratio':>8}")
    worst = 0.0
    for i, (label, _, _) in enumerate(views):
        small = statistics.median(samples[(sizes[0], i)])
        large = statistics.median(samples[(sizes[1], i)])
        worst = max(worst, large / small)
        print(f"{label:<28}{small:>14.2f}{large:>16.2f}{large / small:>8.2f}")
    verdict = "OK" if worst <= 1.5 else "ABOVE TARGET"
    print(f"worst ratio {worst:.2f} (target <= 1.5): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
