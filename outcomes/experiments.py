"""`ExperimentService`: experiments, sticky variant assignment, and the statistics report (§8).

Experiments, assignments and observations live in an `ExperimentStore`
(`experiments_store.py`). A subject's variant is a pure function of the experiment key and
the subject (`assign_variant`: sha256 onto the cumulative weights), stored set-if-absent so
it never changes and is created exactly once. An outcome event joins an experiment through
`metadata.experiment` and `metadata.subject_id` (`observe_event`, called by
`OutcomesService.record_event` once per newly stored event): its value becomes an
observation of the subject's stored variant; a variant the event claims is ignored.

The report compares each variant with the first (the control), per metric: n, mean, sample
stddev, a 95 % t-interval, and Welch's t-test (scipy); sums are `math.fsum`-exact.

Bounds (settings, defaults in brackets): `OUTCOMES_MAX_EXPERIMENTS_PER_TENANT` [100],
`OUTCOMES_MAX_ASSIGNMENTS_PER_EXPERIMENT` [100,000], `OUTCOMES_MAX_OBSERVATIONS_PER_EXPERIMENT`
[100,000], and `OUTCOMES_MAX_EXPERIMENT_BYTES_PER_TENANT` [64 MiB] over all of a tenant's
experiments, assignments and observations (its worst case per tenant).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

import numpy
from django.conf import settings
from scipy import stats

from agent33_core.clock import utc_now
from agent33_core.registry import services

from .domain import (
    CONFIDENCE,
    LOWER_IS_BETTER,
    MIN_SAMPLES_FOR_VERDICT,
    NUMERIC_METRICS,
    SIGNIFICANCE_LEVEL,
    Assignment,
    Experiment,
    ExperimentReport,
    ExperimentVariant,
    MetricReport,
    MetricType,
    OutcomeEvent,
    VariantComparison,
    VariantStats,
    Verdict,
)
from .experiments_store import (
    ExperimentCaps,
    ExperimentNotFound,
    ExperimentStore,
    Samples,
    make_experiment_store,
)
from .index import time_key

DEFAULT_MAX_EXPERIMENTS_PER_TENANT = 100
DEFAULT_MAX_ASSIGNMENTS_PER_EXPERIMENT = 100_000
DEFAULT_MAX_OBSERVATIONS_PER_EXPERIMENT = 100_000
DEFAULT_MAX_EXPERIMENT_BYTES_PER_TENANT = 64 * 1024 * 1024
WORST_CASE_BYTES_PER_TENANT = DEFAULT_MAX_EXPERIMENT_BYTES_PER_TENANT

# Keys and subject ids travel in URL paths: URL-safe characters, starting with a letter or
# digit (so never "." or ".."). Variant names use the key's characters.
KEY_MAX_LENGTH = 200
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
SUBJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"
_KEY = re.compile(KEY_PATTERN[:-1] + r"\Z")
_SUBJECT = re.compile(SUBJECT_PATTERN[:-1] + r"\Z")

EXPERIMENT_METADATA = "experiment"  # metadata.experiment: the key an event joins
SUBJECT_METADATA = "subject_id"  # metadata.subject_id: whose variant decides
_CACHED_EXPERIMENTS = 4096  # experiments never change once created: cache them per process


def is_key(text: object) -> bool:
    return isinstance(text, str) and len(text) <= KEY_MAX_LENGTH and bool(_KEY.match(text))


def is_subject(text: object) -> bool:
    return isinstance(text, str) and len(text) <= KEY_MAX_LENGTH and bool(_SUBJECT.match(text))


def assign_variant(key: str, subject_id: str, weights: Sequence[float]) -> int:
    """The index of the subject's variant: sha256(key, subject) as a point in [0, 1),
    scaled to the sum of the weights, falls into one variant's cumulative share."""
    digest = hashlib.sha256(f"{key}\n{subject_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * math.fsum(weights)
    cumulative = 0.0
    for index, weight in enumerate(weights):
        cumulative += weight
        if point < cumulative:
            return index
    return len(weights) - 1  # rounding at the very top of the range


# --- the statistics -------------------------------------------------------------------------


def describe(variant: str, values: Sequence[float]) -> VariantStats:
    """n, mean, sample stddev (ddof 1) and the 95 % t-interval of the mean."""
    n = len(values)
    if n == 0:
        return VariantStats(
            variant=variant, n=0, mean=None, stddev=None, ci95_low=None, ci95_high=None
        )
    mean = math.fsum(values) / n
    if n < 2:
        return VariantStats(
            variant=variant, n=1, mean=mean, stddev=None, ci95_low=None, ci95_high=None
        )
    # Deviations and squares are each one rounding (vectorised); their sum is exact.
    deviations = numpy.asarray(values, dtype=float) - mean
    stddev = math.sqrt(math.fsum((deviations * deviations).tolist()) / (n - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * stddev / math.sqrt(n)
    return VariantStats(
        variant=variant,
        n=n,
        mean=mean,
        stddev=stddev,
        ci95_low=mean - half,
        ci95_high=mean + half,
    )


def welch_p_value(variant: VariantStats, control: VariantStats) -> float | None:
    """Two-sided p of Welch's t-test; None with fewer than 2 samples or no variance at all."""
    if variant.n < 2 or control.n < 2:
        return None
    if variant.stddev == 0 and control.stddev == 0:
        return None
    with numpy.errstate(all="ignore"):
        result = stats.ttest_ind_from_stats(
            variant.mean,
            variant.stddev,
            variant.n,
            control.mean,
            control.stddev,
            control.n,
            equal_var=False,
        )
    p_value = float(result.pvalue)
    return p_value if math.isfinite(p_value) else None


def compare(metric: MetricType, variant: VariantStats, control: VariantStats) -> VariantComparison:
    """The variant against the control; `better`/`worse` only when p < 0.05 and both have at
    least 30 samples; lower is better for latency and cost."""
    difference = relative_lift = None
    if variant.mean is not None and control.mean is not None:
        difference = variant.mean - control.mean
        if control.mean != 0:
            relative_lift = difference / abs(control.mean)
    p_value = welch_p_value(variant, control)
    verdict = Verdict.INCONCLUSIVE
    if (
        p_value is not None
        and p_value < SIGNIFICANCE_LEVEL
        and min(variant.n, control.n) >= MIN_SAMPLES_FOR_VERDICT
        and difference
    ):
        improved = (difference < 0) if metric in LOWER_IS_BETTER else (difference > 0)
        verdict = Verdict.BETTER if improved else Verdict.WORSE
    return VariantComparison(
        variant=variant.variant,
        against=control.variant,
        difference=difference,
        relative_lift=relative_lift,
        p_value=p_value,
        verdict=verdict,
    )


def metric_report(metric: MetricType, names: Sequence[str], samples: Samples) -> MetricReport:
    """One metric's entry: each variant described, each non-first against the first."""
    described = [
        describe(name, samples.get((metric, index), [])) for index, name in enumerate(names)
    ]
    control = described[0]
    return MetricReport(
        metric_type=metric,
        variants=described,
        comparisons=[compare(metric, variant, control) for variant in described[1:]],
    )


# --- the service ----------------------------------------------------------------------------


class ExperimentService:
    """Experiments per tenant, their assignments, the events that join them, the report."""

    def __init__(self, *, store: ExperimentStore | None = None, clock=utc_now) -> None:
        self._store = store if store is not None else make_experiment_store()
        self._clock = clock
        self._cache: OrderedDict[tuple[str, str], Experiment] = OrderedDict()

    @property
    def caps(self) -> ExperimentCaps:
        return ExperimentCaps(
            max_experiments=_setting(
                "OUTCOMES_MAX_EXPERIMENTS_PER_TENANT", DEFAULT_MAX_EXPERIMENTS_PER_TENANT
            ),
            max_assignments=_setting(
                "OUTCOMES_MAX_ASSIGNMENTS_PER_EXPERIMENT", DEFAULT_MAX_ASSIGNMENTS_PER_EXPERIMENT
            ),
            max_observations=_setting(
                "OUTCOMES_MAX_OBSERVATIONS_PER_EXPERIMENT", DEFAULT_MAX_OBSERVATIONS_PER_EXPERIMENT
            ),
            max_bytes=_setting(
                "OUTCOMES_MAX_EXPERIMENT_BYTES_PER_TENANT", DEFAULT_MAX_EXPERIMENT_BYTES_PER_TENANT
            ),
        )

    # --- experiments --------------------------------------------------------------------

    def create_experiment(
        self,
        *,
        tenant_id: str,
        key: str,
        variants: Sequence[tuple[str, float]],
        metric_types: Sequence[MetricType] | None = None,
        description: str = "",
    ) -> Experiment:
        """A new experiment; a key the tenant already uses is a 409, past its caps a 429."""
        experiment = Experiment(
            key=key,
            tenant_id=tenant_id,
            variants=[ExperimentVariant(name=name, weight=weight) for name, weight in variants],
            metric_types=list(metric_types) if metric_types else list(NUMERIC_METRICS),
            description=description,
            created_at=self._clock(),
        )
        self._store.create(experiment, caps=self.caps)
        return experiment

    def list_experiments(self, *, tenant_id: str | None, limit: int = 50) -> list[Experiment]:
        return self._store.newest(tenant_id=tenant_id, limit=limit)

    def get_experiment(self, *, tenant_id: str, key: str) -> Experiment:
        experiment = self._find(tenant_id, key)
        if experiment is None:
            raise ExperimentNotFound("No such experiment.")
        return experiment

    # --- assignments --------------------------------------------------------------------

    def assign(self, *, tenant_id: str, key: str, subject_id: str) -> tuple[Assignment, bool]:
        """The subject's variant, and whether this call assigned it (exactly one call does)."""
        experiment = self.get_experiment(tenant_id=tenant_id, key=key)
        variant = assign_variant(key, subject_id, [v.weight for v in experiment.variants])
        stored, created = self._store.assign(
            experiment, subject_id=subject_id, variant=variant, caps=self.caps
        )
        return _assignment(experiment, subject_id, stored), created

    def get_assignment(self, *, tenant_id: str, key: str, subject_id: str) -> Assignment:
        experiment = self.get_experiment(tenant_id=tenant_id, key=key)
        stored = self._store.assignment(tenant_id=tenant_id, key=key, subject_id=subject_id)
        if stored is None:
            raise ExperimentNotFound("This subject has no assignment in this experiment.")
        return _assignment(experiment, subject_id, stored)

    # --- events -------------------------------------------------------------------------

    def observe(self, event: OutcomeEvent) -> None:
        """Join a newly stored event to the experiment its metadata names, if it is one of
        the tenant's and tracks the event's metric; anything else is left alone."""
        key = event.metadata.get(EXPERIMENT_METADATA)
        subject = event.metadata.get(SUBJECT_METADATA)
        if not is_key(key) or not is_subject(subject):
            return
        experiment = self._find(event.tenant_id, key)
        if experiment is None or event.metric_type not in experiment.metric_types:
            return
        variant = assign_variant(key, subject, [v.weight for v in experiment.variants])
        self._store.observe(
            experiment,
            subject_id=subject,
            variant=variant,
            metric=event.metric_type,
            occurred_us=time_key(event.occurred_at),
            value=event.value,
            caps=self.caps,
        )

    # --- the report ---------------------------------------------------------------------

    def report(
        self,
        *,
        tenant_id: str,
        key: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> ExperimentReport:
        """Per tracked metric, each variant's sample (occurred_at within since..until,
        inclusive) and each non-first variant against the first."""
        experiment = self.get_experiment(tenant_id=tenant_id, key=key)
        samples = self._store.observations(
            tenant_id=tenant_id,
            key=key,
            start_us=time_key(since) if since is not None else None,
            end_us=time_key(until) + 1 if until is not None else None,
        )
        names = [variant.name for variant in experiment.variants]
        return ExperimentReport(
            experiment=key,
            since=since,
            until=until,
            metrics=[metric_report(metric, names, samples) for metric in experiment.metric_types],
        )

    def usage(self, tenant_id: str) -> tuple[int, int]:
        return self._store.usage(tenant_id)

    def _find(self, tenant_id: str, key: str) -> Experiment | None:
        cached = self._cache.get((tenant_id, key))
        if cached is not None:
            return cached
        experiment = self._store.get(tenant_id=tenant_id, key=key)
        if experiment is not None:
            if len(self._cache) >= _CACHED_EXPERIMENTS:
                self._cache.popitem(last=False)
            self._cache[(tenant_id, key)] = experiment
        return experiment


def _assignment(experiment: Experiment, subject_id: str, variant: int) -> Assignment:
    return Assignment(
        experiment=experiment.key,
        subject_id=subject_id,
        variant=experiment.variants[variant].name,
    )


def _setting(name: str, default: int) -> int:
    return max(1, int(getattr(settings, name, default)))


experiment_service = services.register("outcomes.experiments", ExperimentService)


def get_experiment_service() -> ExperimentService:
    return experiment_service.get()


def observe_event(event: OutcomeEvent) -> None:
    """The hook `OutcomesService.record_event` calls for a new event naming an experiment."""
    get_experiment_service().observe(event)
