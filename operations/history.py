"""The hub's control history: per process, bounded per process and per tenant, on either backend.

Promises (both backends): `append` adds one control to a process's history and answers that
history, in one atomic step; `get` answers it (`[]` for a process never controlled);
`control_turn` is held while a control is applied and appended, so controls on one process
take turns (threads of this process, and on Redis every server process) and its history is
in the order the controls were applied.

A process keeps at most `MAX_HISTORY_PER_PROCESS` controls; a tenant at most `max_records`
controls and `max_bytes` bytes (each control counted as `control_bytes`). Over a cap, the
oldest controls of the tenant's least recently controlled processes go first, and the newest
control is always kept. Caps are per tenant, so one tenant's controls never evict another
tenant's history.

Redis layout, for prefix `P` and tenant `T` (every key shares the hash tag `{P:T}`, so each
call touches one Redis Cluster slot):

    {P:T}:ops:history:p:<process>     LIST    "size<TAB>json" per control (ControlRecord
                                              JSON), oldest first
    {P:T}:ops:history:z               ZSET    processes with history, by last control's seq
    {P:T}:ops:history:u               HASH    count, bytes, seq
    {P:T}:ops:history:turn:<process>  STRING  the process's control turn (a token; expires)

Round trips: `append` is one script call (push, trim the process to its cap, evict across the
tenant's processes within the caps, answer the process's list); `get` is one LRANGE; a
`control_turn` is a SET NX PX (repeated while another server holds it) and a release script.
None reads more than the one process's list, whatever the tenant's history.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import redis

from agent33_core.redis_store import hash_tag
from agent33_core.sizing import model_bytes
from agent33_core.state import REDIS, backend, redis_client, redis_prefix

from .domain import ControlRecord

MAX_HISTORY_PER_PROCESS = 100
# What the history holds per control beyond the record: its list slot, dict entry share.
CONTROL_OVERHEAD_BYTES = 64
CONTROL_LOCK_STRIPES = 64
# A control turn on Redis: far longer than a control takes; a server that dies holding it
# delays that process's next control by at most this long.
CONTROL_TURN_SECONDS = 5.0
CONTROL_TURN_POLL_SECONDS = 0.002


def control_bytes(record: ControlRecord) -> int:
    """Upper bound of what one kept control holds (`agent33_core.sizing`)."""
    return model_bytes(record) + CONTROL_OVERHEAD_BYTES


class ControlHistoryStore(Protocol):
    def append(self, tenant_id: str, process_id: str, record: ControlRecord) -> list[ControlRecord]:
        """Add `record` to the process's history; answer the history after it (oldest first)."""
        ...

    def get(self, tenant_id: str, process_id: str) -> list[ControlRecord]: ...

    def control_turn(self, tenant_id: str, process_id: str) -> AbstractContextManager[object]:
        """Held while a control on the process is applied and appended: one at a time."""
        ...


class _StripedLocks:
    """Threads of this process take turns per process (a fixed set of locks, by hash)."""

    def __init__(self) -> None:
        self._locks = [threading.Lock() for _ in range(CONTROL_LOCK_STRIPES)]

    def __call__(self, tenant_id: str, process_id: str) -> threading.Lock:
        return self._locks[hash((tenant_id, process_id)) % CONTROL_LOCK_STRIPES]


@dataclass(slots=True)
class _TenantHistory:
    # Least recently controlled process first: the eviction order.
    processes: OrderedDict[str, list[ControlRecord]] = field(default_factory=OrderedDict)
    records: int = 0
    bytes: int = 0


class MemoryControlHistory:
    """The embedded backend: per tenant, processes in control order, behind one lock."""

    def __init__(self, *, max_records: int, max_bytes: int) -> None:
        self._max_records = max(1, max_records)
        self._max_bytes = max(1, max_bytes)
        self._lock = threading.Lock()
        self._tenants: dict[str, _TenantHistory] = {}
        self._turns = _StripedLocks()

    def control_turn(self, tenant_id: str, process_id: str) -> AbstractContextManager[object]:
        return self._turns(tenant_id, process_id)  # one process: its threads are every caller

    def append(self, tenant_id: str, process_id: str, record: ControlRecord) -> list[ControlRecord]:
        size = control_bytes(record)
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is None:
                tenant = self._tenants[tenant_id] = _TenantHistory()
            processes = tenant.processes
            kept = processes.get(process_id)
            if kept is None:
                kept = processes[process_id] = []
            else:
                processes.move_to_end(process_id)  # now the most recently controlled
            kept.append(record)
            tenant.records += 1
            tenant.bytes += size
            if len(kept) > MAX_HISTORY_PER_PROCESS:
                tenant.records -= 1
                tenant.bytes -= control_bytes(kept.pop(0))
            while tenant.records > 1 and (
                tenant.records > self._max_records or tenant.bytes > self._max_bytes
            ):
                oldest_process, oldest_kept = next(iter(processes.items()))
                tenant.records -= 1
                tenant.bytes -= control_bytes(oldest_kept.pop(0))
                if not oldest_kept:
                    del processes[oldest_process]
            return list(kept)

    def get(self, tenant_id: str, process_id: str) -> list[ControlRecord]:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            kept = tenant.processes.get(process_id) if tenant is not None else None
            return list(kept) if kept else []


# KEYS[1] the tenant's base; ARGV: process, size, record JSON, per-process cap, tenant caps.
_APPEND = """
local base, process, size, json = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local per_process, max_records, max_bytes = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local usage, order = base .. ':u', base .. ':z'
local function size_of(entry) return tonumber(string.match(entry, '^(%d+)\\t')) end
local usage_now = redis.call('HMGET', usage, 'count', 'bytes')
local count = tonumber(usage_now[1] or '0') + 1
local bytes = tonumber(usage_now[2] or '0') + tonumber(size)
local list = base .. ':p:' .. process
local length = redis.call('RPUSH', list, size .. '\\t' .. json)
redis.call('ZADD', order, redis.call('HINCRBY', usage, 'seq', 1), process)
if length > per_process then
  count = count - 1
  bytes = bytes - size_of(redis.call('LPOP', list))
end
while count > 1 and (count > max_records or bytes > max_bytes) do
  local oldest = redis.call('ZRANGE', order, 0, 0)[1]
  local victims = base .. ':p:' .. oldest
  count = count - 1
  bytes = bytes - size_of(redis.call('LPOP', victims))
  if redis.call('LLEN', victims) == 0 then redis.call('ZREM', order, oldest) end
end
redis.call('HSET', usage, 'count', count, 'bytes', bytes)
return redis.call('LRANGE', list, 0, -1)
"""


def _records(entries: list[bytes]) -> list[ControlRecord]:
    return [ControlRecord.model_validate_json(entry.split(b"\t", 1)[1]) for entry in entries]


class RedisControlHistory:
    """`ControlHistoryStore` on Redis (layout in the module docstring); the client answers bytes."""

    def __init__(
        self, *, client: redis.Redis, prefix: str, max_records: int, max_bytes: int
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._max_records = max(1, max_records)
        self._max_bytes = max(1, max_bytes)
        self._append = client.register_script(_APPEND)
        self._turns = _StripedLocks()

    def _base(self, tenant_id: str) -> str:
        return f"{{{self._prefix}:{hash_tag(tenant_id)}}}:ops:history"

    def append(self, tenant_id: str, process_id: str, record: ControlRecord) -> list[ControlRecord]:
        entries = self._append(
            keys=[self._base(tenant_id)],
            args=[
                process_id,
                control_bytes(record),
                record.model_dump_json(),
                MAX_HISTORY_PER_PROCESS,
                self._max_records,
                self._max_bytes,
            ],
        )
        return _records(entries)

    def get(self, tenant_id: str, process_id: str) -> list[ControlRecord]:
        return _records(self._redis.lrange(f"{self._base(tenant_id)}:p:{process_id}", 0, -1))

    @contextmanager
    def control_turn(self, tenant_id: str, process_id: str) -> Iterator[None]:
        """This process's threads queue on a local lock, then take the process's Redis lock."""
        with self._turns(tenant_id, process_id):
            lock = self._redis.lock(
                f"{self._base(tenant_id)}:turn:{process_id}",
                timeout=CONTROL_TURN_SECONDS,
                sleep=CONTROL_TURN_POLL_SECONDS,
                blocking_timeout=CONTROL_TURN_SECONDS * 2,
                thread_local=False,
                raise_on_release_error=False,
            )
            # Not acquired only after other servers kept it for twice its expiry: the control
            # still applies atomically (the source's CAS); only the history order may differ.
            held = lock.acquire()
            try:
                yield
            finally:
                if held:
                    lock.release()  # a no-op when it expired and another server holds it


def make_control_history(*, max_records: int, max_bytes: int) -> ControlHistoryStore:
    """The control history on `AGENT33_STATE_BACKEND`, with these per-tenant caps."""
    if backend() == REDIS:
        return RedisControlHistory(
            client=redis_client(),
            prefix=redis_prefix(),
            max_records=max_records,
            max_bytes=max_bytes,
        )
    return MemoryControlHistory(max_records=max_records, max_bytes=max_bytes)
