"""Demo data for the operations hub: traces, autonomy budgets, improvement intakes and
workflow runs of two tenants and the operator, live and finished.

`seed_demo()` goes through the four source services' public methods (and the hub's own
`control`, so a paused budget has a control history), and seeds only when every source
is empty. Deterministic and fast (a few milliseconds).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from .services import get_operations_service
from .sources.budgets.services import get_budgets_service
from .sources.intakes.services import get_intakes_service
from .sources.traces.services import get_traces_service
from .sources.workflows.services import get_workflow_runs_service

TENANTS = ("acme", "globex")
OPERATOR = ""
DEMO_ACTOR = "demo-seed"

# (task, agent role, model, final status or "running", failure code)
TRACES = (
    ("triage-ticket-4812", "triager", "gpt-4o-mini", "running", ""),
    ("summarise-call-118", "summariser", "claude-3-5-haiku", "running", ""),
    ("refund-request-77", "resolver", "gpt-4o", "completed", ""),
    ("draft-release-notes", "writer", "claude-3-5-sonnet", "completed", ""),
    ("reconcile-ledger-q3", "analyst", "gpt-4o", "failed", "tool_error"),
    ("crawl-competitor-site", "researcher", "gpt-4o-mini", "timeout", "deadline_exceeded"),
    ("escalate-vip-complaint", "resolver", "gpt-4o", "escalated", "needs_human"),
)
TRACE_STEPS = (("plan", "planner"), ("retrieve", "search_docs"), ("act", "call_api"))

# (task, description, states to walk through after draft, then a hub control or "")
BUDGETS = (
    ("nightly-triage", "Up to 200 tool calls a night", ("active",), ""),
    ("invoice-bot", "Spend up to $40 a day on extraction", ("active",), ""),
    ("crm-sync", "Write access to the CRM sandbox", ("active",), "pause"),
    ("data-cleanup", "Delete stale records (dry run first)", (), ""),
    ("pricing-experiments", "Change list prices within 2 %", ("pending_approval",), ""),
    ("q3-campaign", "Send up to 5,000 emails", ("active", "expired"), ""),
    ("onboarding-helper", "Create accounts for new hires", ("active", "completed"), ""),
)

# (title, research type, urgency, statuses to walk through after submitted)
INTAKES = (
    ("Cache retrieval results per session", "technical", "high", ("triaged", "analyzing")),
    ("Competitor ships voice agents", "competitive", "medium", ("triaged", "analyzing")),
    ("Users ask for CSV export", "user", "low", ()),
    ("Adopt structured outputs", "external", "medium", ("triaged",)),
    ("Shorter system prompts", "internal", "low", ("triaged", "analyzing", "accepted")),
    (
        "Retry budget for flaky tools",
        "technical",
        "critical",
        ("triaged", "analyzing", "accepted", "tracked"),
    ),
    ("Move to a new vector store", "technical", "medium", ("triaged", "analyzing", "deferred")),
)

WORKFLOWS = ("ingest-tickets", "nightly-report", "sync-crm", "reindex-docs")
WORKFLOW_STEPS = ("fetch", "transform", "load")


def _is_empty() -> bool:
    services = (
        get_traces_service(),
        get_budgets_service(),
        get_intakes_service(),
        get_workflow_runs_service(),
    )
    return all(not s.list(tenant_id=None, status=None, limit=1) for s in services)


def _seed_traces(tenant: str, rng: random.Random, now: datetime) -> None:
    service = get_traces_service()
    for index, (task, role, model, final, failure_code) in enumerate(TRACES):
        trace = service.create(
            tenant_id=tenant,
            fields={
                "task_id": f"{tenant or 'ops'}-{task}",
                "session_id": f"sess-{rng.randrange(16**8):08x}",
                "run_id": f"run-{index + 1:03d}",
                "agent_id": f"{role}-agent",
                "agent_role": role,
                "model": model,
            },
        )
        for step_id, tool in TRACE_STEPS[: 1 + index % len(TRACE_STEPS)]:
            for attempt in range(1 + rng.randrange(3)):
                service.record_action(
                    tenant_id=tenant,
                    trace_id=trace.id,
                    fields={
                        "step_id": step_id,
                        "action_id": f"{step_id}-{attempt + 1}",
                        "tool": tool,
                        "status": "ok" if attempt or final == "completed" else "retried",
                        "duration_ms": float(rng.randint(40, 2400)),
                        "input_summary": f"{tool} for {task}",
                    },
                )
        if final != "running":
            service.complete(
                tenant_id=tenant,
                trace_id=trace.id,
                status=final,
                failure_code=failure_code,
                failure_message=failure_code.replace("_", " ") if failure_code else "",
            )


def _seed_budgets(tenant: str) -> None:
    service, hub = get_budgets_service(), get_operations_service()
    for task, description, states, control in BUDGETS:
        budget = service.create(
            tenant_id=tenant,
            fields={
                "task_id": f"{tenant or 'ops'}-{task}",
                "agent_id": f"{task}-agent",
                "description": description,
                "limits": {"max_tool_calls": 200, "max_usd_per_day": 40},
            },
        )
        for state in states:
            approved_by = "ops-lead" if state == "active" else None
            service.move(
                tenant_id=tenant, budget_id=budget.id, to_state=state, approved_by=approved_by
            )
        if control:
            hub.control(
                tenant_id=tenant,
                process_id=budget.id,
                action=control,
                reason="Spend spike under review",
                actor=DEMO_ACTOR,
            )


def _seed_intakes(tenant: str) -> None:
    service = get_intakes_service()
    for title, research_type, urgency, statuses in INTAKES:
        intake = service.create(
            tenant_id=tenant,
            fields={
                "title": title,
                "summary": f"Proposed by the {tenant} team." if tenant else "Platform proposal.",
                "research_type": research_type,
                "urgency": urgency,
            },
        )
        for status in statuses:
            service.transition(tenant_id=tenant, record_id=intake.id, target=status)


def _seed_workflow_runs(tenant: str, rng: random.Random, now: datetime, runs: int) -> None:
    """Runs spread over the last two days; the newest few are still running."""
    service = get_workflow_runs_service()
    for index in range(runs):
        started = now - timedelta(hours=47 * (runs - 1 - index) / max(1, runs - 1) + 0.2)
        name = WORKFLOWS[index % len(WORKFLOWS)]
        running = index >= runs - 2
        failed = not running and rng.random() < 0.2
        status = "running" if running else ("failed" if failed else "completed")
        run = service.create(
            tenant_id=tenant,
            fields={
                "workflow_name": name,
                "trigger_type": ("scheduled", "event", "manual", "api")[index % 4],
                "status": status,
                "started_at": started,
                "duration_ms": None if running else float(rng.randint(800, 90_000)),
                "error": "load: upstream returned 503" if failed else "",
                "job_id": f"job-{index + 1:04d}",
            },
        )
        steps = WORKFLOW_STEPS[:2] if running else WORKFLOW_STEPS
        for offset, step in enumerate(steps):
            at = started + timedelta(seconds=30 * offset)
            service.record_event(
                tenant_id=tenant, run_id=run.id, step_id=step, type="step_started", at=at
            )
            last = running and step == steps[-1]
            if not last:
                ending = "step_failed" if failed and step == "load" else "step_completed"
                service.record_event(
                    tenant_id=tenant,
                    run_id=run.id,
                    step_id=step,
                    type=ending,
                    at=at + timedelta(seconds=20),
                )


def seed_demo(*, now: datetime | None = None) -> bool:
    """Seed every source (two tenants, plus a little operator-level work); False if not empty."""
    if not _is_empty():
        return False
    now = now or datetime.now(UTC)
    rng = random.Random(33)
    for tenant in TENANTS:
        _seed_traces(tenant, rng, now)
        _seed_budgets(tenant)
        _seed_intakes(tenant)
        _seed_workflow_runs(tenant, rng, now, runs=12)
    get_traces_service().create(
        tenant_id=OPERATOR,
        fields={
            "task_id": "ops-rotate-credentials",
            "session_id": "sess-ops",
            "run_id": "run-ops-001",
            "agent_id": "ops-agent",
            "agent_role": "operator",
            "model": "gpt-4o-mini",
        },
    )
    _seed_workflow_runs(OPERATOR, rng, now, runs=4)
    return True
