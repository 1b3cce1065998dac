"""Where experiments live: the `ExperimentStore` interface, its memory and Redis backends.

Per tenant: experiments by key; per experiment its assignments (subject -> variant index)
and its observations, `(occurred_at us, metric, variant index, value)` ordered by
occurred_at, so a report reads one experiment's observations of a time range and never the
tenant's other events. Every write is one atomic step (a lock in memory, one Lua script in
Redis): an assignment is set-if-absent (HSETNX), so concurrent assigners, in any process,
store exactly one variant, and the first caller alone is told it created it.

Bounds (`ExperimentCaps`): per tenant `max_experiments` experiments and `max_bytes` bytes
of experiments, assignments and observations; per experiment `max_assignments`
assignments (a new one past either cap is a 429) and `max_observations` observations. An
observation never fails the event that carries it: past the experiment's count cap or the
tenant's byte budget it evicts its experiment's oldest observation, and is dropped when its
experiment has none to evict (or its subject cannot be assigned).

Redis layout, prefix `P`, tenant `T` (hash tag `{P:T}`), experiment key `K`:

    {P:T}:x:u       HASH    count (experiments), bytes, seq (observation arrival)
    {P:T}:x:l       ZSET    experiment keys, scored by created_at (us)
    {P:T}:x:e:<K>   STRING  the experiment's JSON
    {P:T}:x:a:<K>   HASH    subject -> variant index
    {P:T}:x:o:<K>   ZSET    "<seq>:<metric>:<variant index>:<value repr>", scored by occurred_at
    P:x:tenants     SET     tenants with experiments (an operator's list fans out over them)
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_left, insort
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

import redis

from agent33_core import state
from agent33_core.errors import DomainError, NotFound, QuotaExceeded
from agent33_core.redis_store import hash_tag, tenants_of
from agent33_core.sizing import model_bytes, text_bytes

from .domain import Experiment, MetricType

# Costs counted per record (upper bounds of the Python heap it holds in the memory backend;
# the Redis backend counts the same figures). An observation is a 4-tuple of two ints, a
# small int and a float in a list (~250 bytes by `sizing.block_bytes`); an assignment a
# dict entry (with the table's growth slack) plus its subject text; an experiment its
# model plus its containers and index entries.
OBSERVATION_BYTES = 256
ASSIGNMENT_OVERHEAD_BYTES = 128
EXPERIMENT_OVERHEAD_BYTES = 2_048

# An experiment's observations of a time range: (metric, variant index) -> values.
Samples = dict[tuple[MetricType, int], list[float]]


class ExperimentExists(DomainError):
    """The tenant already has an experiment with this key (409)."""

    http_status = 409
    error_code = "already_exists"


class ExperimentNotFound(NotFound):
    """No such experiment (or assignment) in the tenant: 404, like another tenant's."""


@dataclass(frozen=True, slots=True)
class ExperimentCaps:
    max_experiments: int
    max_assignments: int
    max_observations: int
    max_bytes: int


def experiment_bytes(experiment: Experiment) -> int:
    return EXPERIMENT_OVERHEAD_BYTES + model_bytes(experiment)


def assignment_bytes(subject_id: str) -> int:
    return ASSIGNMENT_OVERHEAD_BYTES + text_bytes(subject_id)


class ExperimentStore(Protocol):
    def create(self, experiment: Experiment, *, caps: ExperimentCaps) -> None:
        """Store a new experiment; `ExperimentExists` or `QuotaExceeded` store nothing."""
        ...

    def get(self, *, tenant_id: str, key: str) -> Experiment | None: ...

    def newest(self, *, tenant_id: str | None, limit: int) -> list[Experiment]:
        """Experiments by created_at, newest first (every tenant's when `tenant_id` is None)."""
        ...

    def assign(
        self, experiment: Experiment, *, subject_id: str, variant: int, caps: ExperimentCaps
    ) -> tuple[int, bool]:
        """(the subject's stored variant index, True when this call stored it)."""
        ...

    def assignment(self, *, tenant_id: str, key: str, subject_id: str) -> int | None: ...

    def observe(
        self,
        experiment: Experiment,
        *,
        subject_id: str,
        variant: int,
        metric: MetricType,
        occurred_us: int,
        value: float,
        caps: ExperimentCaps,
    ) -> None:
        """Record a value for the subject's stored variant (assigning `variant` if it has
        none yet), or drop it when no room can be made (see the module docstring)."""
        ...

    def observations(
        self, *, tenant_id: str, key: str, start_us: int | None, end_us: int | None
    ) -> Samples:
        """The values of the experiment's observations with start_us <= occurred_at < end_us,
        by metric and variant."""
        ...

    def usage(self, tenant_id: str) -> tuple[int, int]:
        """(experiments, bytes) the tenant holds now."""
        ...


def too_many_experiments(caps: ExperimentCaps) -> QuotaExceeded:
    return QuotaExceeded(
        f"This tenant holds {caps.max_experiments} experiments "
        "(OUTCOMES_MAX_EXPERIMENTS_PER_TENANT); no more can be created."
    )


def too_many_assignments(caps: ExperimentCaps) -> QuotaExceeded:
    return QuotaExceeded(
        f"This experiment holds {caps.max_assignments} assignments "
        "(OUTCOMES_MAX_ASSIGNMENTS_PER_EXPERIMENT); no new subject can be assigned."
    )


def no_bytes_left(caps: ExperimentCaps) -> QuotaExceeded:
    return QuotaExceeded(
        f"This tenant's experiments hold their whole byte budget ({caps.max_bytes} bytes, "
        "OUTCOMES_MAX_EXPERIMENT_BYTES_PER_TENANT)."
    )


def make_experiment_store() -> ExperimentStore:
    if state.backend() == state.REDIS:
        return RedisExperimentStore(client=state.redis_client(), prefix=state.redis_prefix())
    return MemoryExperimentStore()


# --- memory ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Held:
    experiment: Experiment
    assignments: dict[str, int] = field(default_factory=dict)
    # (occurred_at us, arrival, metric, variant index, value), sorted.
    observations: list[tuple[int, int, MetricType, int, float]] = field(default_factory=list)


@dataclass(slots=True)
class _Tenant:
    experiments: dict[str, _Held] = field(default_factory=dict)
    bytes: int = 0


class MemoryExperimentStore:
    """The embedded backend: dicts and sorted lists behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tenants: dict[str, _Tenant] = {}
        self._arrival = 0

    def create(self, experiment: Experiment, *, caps: ExperimentCaps) -> None:
        size = experiment_bytes(experiment)
        with self._lock:
            tenant = self._tenants.get(experiment.tenant_id) or _Tenant()
            if experiment.key in tenant.experiments:
                raise ExperimentExists(f"An experiment with the key '{experiment.key}' exists.")
            if len(tenant.experiments) >= caps.max_experiments:
                raise too_many_experiments(caps)
            if tenant.bytes + size > caps.max_bytes:
                raise no_bytes_left(caps)
            self._tenants[experiment.tenant_id] = tenant
            tenant.experiments[experiment.key] = _Held(experiment)
            tenant.bytes += size

    def get(self, *, tenant_id: str, key: str) -> Experiment | None:
        tenant = self._tenants.get(tenant_id)
        held = tenant.experiments.get(key) if tenant is not None else None
        return held.experiment if held is not None else None

    def newest(self, *, tenant_id: str | None, limit: int) -> list[Experiment]:
        with self._lock:
            if tenant_id is None:
                tenants = list(self._tenants.values())
            else:
                tenants = [t for t in (self._tenants.get(tenant_id),) if t is not None]
            every = [held.experiment for t in tenants for held in t.experiments.values()]
        return heapq.nlargest(limit, every, key=_newest_key)

    def assign(
        self, experiment: Experiment, *, subject_id: str, variant: int, caps: ExperimentCaps
    ) -> tuple[int, bool]:
        with self._lock:
            tenant, held = self._held(experiment)
            stored = held.assignments.get(subject_id)
            if stored is not None:
                return stored, False
            self._admit_assignment(tenant, held, subject_id, caps)
            held.assignments[subject_id] = variant
            return variant, True

    def assignment(self, *, tenant_id: str, key: str, subject_id: str) -> int | None:
        tenant = self._tenants.get(tenant_id)
        held = tenant.experiments.get(key) if tenant is not None else None
        return held.assignments.get(subject_id) if held is not None else None

    def observe(
        self,
        experiment: Experiment,
        *,
        subject_id: str,
        variant: int,
        metric: MetricType,
        occurred_us: int,
        value: float,
        caps: ExperimentCaps,
    ) -> None:
        with self._lock:
            tenant, held = self._held(experiment)
            stored = held.assignments.get(subject_id)
            if stored is None:
                try:
                    self._admit_assignment(tenant, held, subject_id, caps)
                except QuotaExceeded:
                    return  # no room to assign the subject: the event stays unjoined
                held.assignments[subject_id] = stored = variant
            observations = held.observations
            while observations and (
                len(observations) >= caps.max_observations
                or tenant.bytes + OBSERVATION_BYTES > caps.max_bytes
            ):
                observations.pop(0)
                tenant.bytes -= OBSERVATION_BYTES
            if tenant.bytes + OBSERVATION_BYTES > caps.max_bytes:
                return
            self._arrival += 1
            insort(observations, (occurred_us, self._arrival, metric, stored, value))
            tenant.bytes += OBSERVATION_BYTES

    def observations(
        self, *, tenant_id: str, key: str, start_us: int | None, end_us: int | None
    ) -> Samples:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            held = tenant.experiments.get(key) if tenant is not None else None
            if held is None:
                return {}
            rows = held.observations
            first = bisect_left(rows, (start_us,)) if start_us is not None else 0
            last = bisect_left(rows, (end_us,)) if end_us is not None else len(rows)
            chosen = rows[first:last]  # references only: nothing allocated per row below
        samples: Samples = defaultdict(list)
        for row in chosen:
            samples[row[2], row[3]].append(row[4])
        return samples

    def usage(self, tenant_id: str) -> tuple[int, int]:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            return (len(tenant.experiments), tenant.bytes) if tenant is not None else (0, 0)

    def _held(self, experiment: Experiment) -> tuple[_Tenant, _Held]:
        tenant = self._tenants.get(experiment.tenant_id)
        held = tenant.experiments.get(experiment.key) if tenant is not None else None
        if tenant is None or held is None:
            raise ExperimentNotFound(f"No experiment with the key '{experiment.key}'.")
        return tenant, held

    @staticmethod
    def _admit_assignment(
        tenant: _Tenant, held: _Held, subject_id: str, caps: ExperimentCaps
    ) -> None:
        if len(held.assignments) >= caps.max_assignments:
            raise too_many_assignments(caps)
        size = assignment_bytes(subject_id)
        if tenant.bytes + size > caps.max_bytes:
            raise no_bytes_left(caps)
        tenant.bytes += size


def _newest_key(experiment: Experiment) -> tuple:
    return experiment.created_at, experiment.tenant_id, experiment.key


# --- Redis ----------------------------------------------------------------------------------

_CREATE = """
local base, key, json, score = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local size, max_count, max_bytes = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local usage = base .. ':u'
if redis.call('EXISTS', base .. ':e:' .. key) == 1 then return 'exists' end
local held = redis.call('HMGET', usage, 'count', 'bytes')
if tonumber(held[1] or '0') >= max_count then return 'count' end
if tonumber(held[2] or '0') + size > max_bytes then return 'bytes' end
redis.call('SET', base .. ':e:' .. key, json)
redis.call('ZADD', base .. ':l', score, key)
redis.call('HINCRBY', usage, 'count', 1)
redis.call('HINCRBY', usage, 'bytes', size)
return 'ok'
"""

# Set-if-absent assignment, then (when ARGV[6] is '1') one observation of the stored variant.
_ASSIGN = """
local base, key, subject, variant = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local size, observe = tonumber(ARGV[4]), ARGV[5] == '1'
local max_assignments, max_observations = tonumber(ARGV[6]), tonumber(ARGV[7])
local max_bytes, obs_bytes = tonumber(ARGV[8]), tonumber(ARGV[9])
local metric, score, value = ARGV[10], ARGV[11], ARGV[12]
local usage, assignments = base .. ':u', base .. ':a:' .. key
if redis.call('EXISTS', base .. ':e:' .. key) == 0 then return {'missing'} end
local stored = redis.call('HGET', assignments, subject)
local created = 0
if not stored then
  if redis.call('HLEN', assignments) >= max_assignments then return {'assignments'} end
  local bytes = tonumber(redis.call('HGET', usage, 'bytes') or '0')
  if bytes + size > max_bytes then return {'bytes'} end
  redis.call('HSET', assignments, subject, variant)
  redis.call('HINCRBY', usage, 'bytes', size)
  stored, created = variant, 1
end
if observe then
  local observations = base .. ':o:' .. key
  local count = redis.call('ZCARD', observations)
  local bytes = tonumber(redis.call('HGET', usage, 'bytes') or '0')
  while count > 0 and (count >= max_observations or bytes + obs_bytes > max_bytes) do
    redis.call('ZPOPMIN', observations)
    count = count - 1
    bytes = redis.call('HINCRBY', usage, 'bytes', -obs_bytes)
  end
  if bytes + obs_bytes <= max_bytes then
    local seq = redis.call('HINCRBY', usage, 'seq', 1)
    local member = string.format('%017d', seq) .. ':' .. metric .. ':' .. stored .. ':' .. value
    redis.call('ZADD', observations, score, member)
    redis.call('HINCRBY', usage, 'bytes', obs_bytes)
  end
end
return {'ok', stored, created}
"""

# Newest experiments of one tenant: their JSON, newest created_at first.
_NEWEST = """
local base, limit = KEYS[1], tonumber(ARGV[1])
local out = {}
for _, key in ipairs(redis.call('ZREVRANGE', base .. ':l', 0, limit - 1)) do
  table.insert(out, redis.call('GET', base .. ':e:' .. key))
end
return out
"""

_METRICS = {metric.value: metric for metric in MetricType}
_SEQ_PREFIX = 18  # a member starts with 17 digits of arrival and a colon


class RedisExperimentStore:
    """`ExperimentStore` on Redis: one script per write, one round trip per read."""

    def __init__(self, *, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._create = client.register_script(_CREATE)
        self._assign = client.register_script(_ASSIGN)
        self._newest = client.register_script(_NEWEST)
        self._tenants_key = f"{prefix}:x:tenants"

    def _base(self, tenant: str) -> str:
        return f"{{{self._prefix}:{hash_tag(tenant)}}}:x"

    def create(self, experiment: Experiment, *, caps: ExperimentCaps) -> None:
        self._redis.sadd(self._tenants_key, experiment.tenant_id)
        outcome = self._create(
            keys=[self._base(experiment.tenant_id)],
            args=[
                experiment.key,
                experiment.model_dump_json(),
                _created_score(experiment),
                experiment_bytes(experiment),
                caps.max_experiments,
                caps.max_bytes,
            ],
        ).decode()
        if outcome == "exists":
            raise ExperimentExists(f"An experiment with the key '{experiment.key}' exists.")
        if outcome == "count":
            raise too_many_experiments(caps)
        if outcome == "bytes":
            raise no_bytes_left(caps)

    def get(self, *, tenant_id: str, key: str) -> Experiment | None:
        raw = self._redis.get(f"{self._base(tenant_id)}:e:{key}")
        return None if raw is None else Experiment.model_validate_json(raw)

    def newest(self, *, tenant_id: str | None, limit: int) -> list[Experiment]:
        if tenant_id is None:
            tenants = tenants_of(self._redis.smembers(self._tenants_key))
        else:
            tenants = [tenant_id]
        pipe = self._redis.pipeline(transaction=False)
        for tenant in tenants:
            self._newest(keys=[self._base(tenant)], args=[limit], client=pipe)
        every = [Experiment.model_validate_json(raw) for reply in pipe.execute() for raw in reply]
        return heapq.nlargest(limit, every, key=_newest_key)

    def assign(
        self, experiment: Experiment, *, subject_id: str, variant: int, caps: ExperimentCaps
    ) -> tuple[int, bool]:
        stored, created = self._run_assign(experiment, subject_id, variant, caps, None)
        return stored, created

    def assignment(self, *, tenant_id: str, key: str, subject_id: str) -> int | None:
        raw = self._redis.hget(f"{self._base(tenant_id)}:a:{key}", subject_id)
        return None if raw is None else int(raw)

    def observe(
        self,
        experiment: Experiment,
        *,
        subject_id: str,
        variant: int,
        metric: MetricType,
        occurred_us: int,
        value: float,
        caps: ExperimentCaps,
    ) -> None:
        try:
            self._run_assign(experiment, subject_id, variant, caps, (metric, occurred_us, value))
        except QuotaExceeded:
            return  # no room to assign the subject: the event stays unjoined

    def observations(
        self, *, tenant_id: str, key: str, start_us: int | None, end_us: int | None
    ) -> Samples:
        low = str(start_us) if start_us is not None else "-inf"
        high = f"({end_us}" if end_us is not None else "+inf"
        members = self._redis.zrangebyscore(f"{self._base(tenant_id)}:o:{key}", low, high)
        grouped: dict[bytes, list[float]] = defaultdict(list)
        for member in members:
            series, _, value = member[_SEQ_PREFIX:].rpartition(b":")
            grouped[series].append(float(value))
        samples: Samples = {}
        for series, values in grouped.items():
            metric, variant = series.decode().split(":")
            samples[_METRICS[metric], int(variant)] = values
        return samples

    def usage(self, tenant_id: str) -> tuple[int, int]:
        count, used = self._redis.hmget(f"{self._base(tenant_id)}:u", "count", "bytes")
        return int(count or 0), int(used or 0)

    def _run_assign(
        self,
        experiment: Experiment,
        subject_id: str,
        variant: int,
        caps: ExperimentCaps,
        observation: tuple[MetricType, int, float] | None,
    ) -> tuple[int, bool]:
        metric, occurred_us, value = observation or ("", 0, 0.0)
        reply = self._assign(
            keys=[self._base(experiment.tenant_id)],
            args=[
                experiment.key,
                subject_id,
                variant,
                assignment_bytes(subject_id),
                "1" if observation is not None else "0",
                caps.max_assignments,
                caps.max_observations,
                caps.max_bytes,
                OBSERVATION_BYTES,
                str(metric),
                occurred_us,
                repr(value),
            ],
        )
        outcome = reply[0].decode()
        if outcome == "missing":
            raise ExperimentNotFound(f"No experiment with the key '{experiment.key}'.")
        if outcome == "assignments":
            raise too_many_assignments(caps)
        if outcome == "bytes":
            raise no_bytes_left(caps)
        return int(reply[1]), bool(int(reply[2]))


def _created_score(experiment: Experiment) -> str:
    return repr(experiment.created_at.timestamp())
