"""Demo data for the outcomes app: 14 days of events per tenant with visible trends, and
one experiment per tenant that those events join.

`seed_demo()` fills the outcomes service through its public `record_event`, only when
the service holds no event yet (so calling it twice is harmless). Deterministic: the
same seed draws the same values every time. Takes a few tens of milliseconds.

Each tenant's `support-prompt-v2` experiment (contract §8) compares two prompt packs,
control and candidate at 50/50: every agent run of the demo is a subject, assigned
through `ExperimentService.assign`, and its four metric events carry
`metadata.experiment`/`metadata.subject_id`, so they join it as they are recorded. A
candidate run gets its tenant's `CANDIDATE_EFFECTS` on top of the drawn value (the draws
themselves are the same as without the experiment, so the trends are unchanged in kind).
"""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta

from .domain import MetricType
from .experiments import get_experiment_service
from .experiments_store import ExperimentExists
from .services import OutcomesService, get_outcomes_service

DAYS = 14
RUNS_PER_DAY = 4
FAILURE_CLASSES = ("tool_error", "timeout", "rate_limited", "bad_output", "auth_expired")

# tenant -> domain -> metric -> (value 14 days ago, value today), plus failure class
# weights (in FAILURE_CLASSES order). Noise is added on top of the straight line.
PROFILES: dict[str, dict[str, dict]] = {
    "acme": {  # getting better at its work, but paying more for it
        "support-triage": {
            "success_rate": (0.72, 0.95),
            "quality_score": (0.80, 0.81),
            "latency_ms": (2400.0, 1300.0),
            "cost_usd": (0.030, 0.045),
            "failures": (5, 3, 1, 2, 0),
        },
        "code-review": {
            "success_rate": (0.75, 0.93),
            "quality_score": (0.78, 0.80),
            "latency_ms": (2600.0, 1500.0),
            "cost_usd": (0.032, 0.047),
            "failures": (2, 1, 0, 4, 0),
        },
    },
    "globex": {  # better answers, but slower and failing more often
        "invoice-extraction": {
            "success_rate": (0.96, 0.74),
            "quality_score": (0.65, 0.85),
            "latency_ms": (900.0, 1900.0),
            "cost_usd": (0.020, 0.020),
            "failures": (1, 6, 4, 1, 3),
        },
        "support-triage": {
            "success_rate": (0.93, 0.76),
            "quality_score": (0.68, 0.86),
            "latency_ms": (1000.0, 1800.0),
            "cost_usd": (0.022, 0.021),
            "failures": (3, 2, 2, 1, 0),
        },
    },
}

EXPERIMENT_KEY = "support-prompt-v2"
EXPERIMENT_VARIANTS = (("control", 1.0), ("candidate", 1.0))
# What the candidate prompt pack does, per tenant: metric -> (added, multiplied by).
CANDIDATE_EFFECTS: dict[str, dict[str, tuple[float, float]]] = {
    "acme": {"quality_score": (0.05, 1.0), "cost_usd": (0.0, 1.15)},  # better, but dearer
    "globex": {"latency_ms": (0.0, 0.8), "success_rate": (0.02, 1.0)},  # faster, as good
}

NOISE = {"success_rate": 0.04, "quality_score": 0.03, "latency_ms": 0.08, "cost_usd": 0.06}
BOUNDED = {"success_rate", "quality_score"}  # rates and scores stay within 0..1


def _value(metric: str, start: float, end: float, progress: float, rng: random.Random) -> float:
    base = start + (end - start) * progress
    if metric in BOUNDED:
        return round(min(1.0, max(0.0, base + rng.uniform(-NOISE[metric], NOISE[metric]))), 3)
    return round(max(0.0, base * (1 + rng.uniform(-NOISE[metric], NOISE[metric]))), 4)


def _with_effect(tenant: str, metric: str, value: float) -> float:
    added, factor = CANDIDATE_EFFECTS[tenant].get(metric, (0.0, 1.0))
    shifted = value * factor + added
    return round(min(1.0, shifted), 3) if metric in BOUNDED else round(shifted, 4)


def seed_experiments() -> None:
    """Each demo tenant's experiment (kept if it exists already)."""
    experiments = get_experiment_service()
    for tenant in PROFILES:
        with contextlib.suppress(ExperimentExists):
            experiments.create_experiment(
                tenant_id=tenant,
                key=EXPERIMENT_KEY,
                variants=EXPERIMENT_VARIANTS,
                description="Support prompt pack v2 (candidate) against v1 (control), 50/50.",
            )


def seed_demo(service: OutcomesService | None = None, *, now: datetime | None = None) -> int:
    """Record the demo events; returns how many (0 when the service already had events)."""
    service = service or get_outcomes_service()
    if service.count_events(tenant_id=None):
        return 0
    now = now or datetime.now(UTC)
    rng = random.Random(33)
    seed_experiments()
    experiments = get_experiment_service()
    recorded = 0
    total_runs = DAYS * RUNS_PER_DAY
    for tenant, domains in PROFILES.items():
        for domain, profile in domains.items():
            for run in range(total_runs):
                progress = run / (total_runs - 1)
                at = now - timedelta(days=DAYS) + timedelta(hours=run * 24 / RUNS_PER_DAY + 1)
                at += timedelta(minutes=rng.randint(0, 50))
                event_type = "agent_run"
                subject = f"{domain}-run-{run:02d}"  # each run is one subject of the experiment
                assignment, _ = experiments.assign(
                    tenant_id=tenant, key=EXPERIMENT_KEY, subject_id=subject
                )
                for metric in ("success_rate", "quality_score", "latency_ms", "cost_usd"):
                    start, end = profile[metric]
                    value = _value(metric, start, end, progress, rng)
                    if assignment.variant == "candidate":
                        value = _with_effect(tenant, metric, value)
                    service.record_event(
                        tenant_id=tenant,
                        domain=domain,
                        event_type=event_type,
                        metric_type=MetricType(metric),
                        value=value,
                        occurred_at=at,
                        metadata={
                            "run": run,
                            "source": "demo",
                            "experiment": EXPERIMENT_KEY,
                            "subject_id": subject,
                        },
                    )
                    recorded += 1
                # Failures: more of a class the larger its weight, spread over the days.
                weights = profile["failures"]
                if rng.random() < sum(weights) / 16:
                    failure = rng.choices(FAILURE_CLASSES, weights=weights)[0]
                    service.record_event(
                        tenant_id=tenant,
                        domain=domain,
                        event_type="agent_failure",
                        metric_type=MetricType.FAILURE_CLASS,
                        value=1.0,
                        occurred_at=at + timedelta(minutes=3),
                        metadata={"failure_class": failure, "source": "demo"},
                    )
                    recorded += 1
    # Operator-level records (tenant ""): the platform's own health checks.
    for day in range(DAYS):
        service.record_event(
            tenant_id="",
            domain="platform",
            event_type="health_check",
            metric_type=MetricType.SUCCESS_RATE,
            value=1.0 if day % 5 else 0.0,
            occurred_at=now - timedelta(days=day, hours=2),
            metadata={"source": "demo"},
        )
        recorded += 1
    return recorded
