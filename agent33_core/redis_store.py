"""The Redis backend of the store interface: the same promises as memory, across processes.

Layout, for store `N` under prefix `P` (a tenant's keys share the hash tag `{P:tenant}`, so
every script touches one Redis Cluster slot):

    {P:t}:N:r:<id>        STRING  the record's JSON
    {P:t}:N:m             HASH    id -> "status<TAB>size<TAB>time score"
    {P:t}:N:i:all         ZSET    every record, scored by time
    {P:t}:N:i:s:<status>  ZSET    records in that status
    {P:t}:N:i:live        ZSET    live records
    {P:t}:N:fin           ZSET    finished records, scored by when they finished (eviction order)
    {P:t}:N:u             HASH    count, bytes, fbytes (finished bytes), seq
    P:N:tenants           SET     tenants with records (operator reads fan out over them)
    P:N:where             HASH    id -> tenant (an operator's read by id)

A write is one Lua script (`PUT`): admission against the caps, the record, its indexes and
the evictions it causes happen atomically. `update` is compare-and-set: it reads the record,
runs `change` in Python and writes only if the record is still what it read (else retries),
so two processes never both apply a transition. A read is one round trip per tenant, sent
as one pipeline when an operator reads every tenant. Inside `batched_reads()`, the pages
every store is asked for wait and go together in one pipeline (the hub's five sources); an
operator's reads first learn every store's tenants together, in one pipeline before it.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Generic, TypeVar

import redis
from pydantic import BaseModel

from .errors import QuotaExceeded
from .store import LazyRecords, Page, PageWhenRead, R, StoreSpec

_PUT = """
local base, id, json, status = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local score, size = ARGV[4], tonumber(ARGV[5])
local live, insert, expected = ARGV[6] == '1', ARGV[7] == '1', ARGV[8]
local max_records, max_bytes, may_refuse = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11] == '1'
local rkey, meta, usage = base .. ':r:' .. id, base .. ':m', base .. ':u'
local current = redis.call('GET', rkey)
if insert then
  if current then return {'exists'} end
elseif current ~= expected then
  return {'conflict'}
end
local old_status, old_size, old_score = nil, 0, score
if not insert then
  local m = redis.call('HGET', meta, id)
  local a, b, c = string.match(m, '([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)')
  old_status, old_size, old_score = a, tonumber(b), c
end
local count = tonumber(redis.call('HGET', usage, 'count') or '0')
local bytes = tonumber(redis.call('HGET', usage, 'bytes') or '0')
local fbytes = tonumber(redis.call('HGET', usage, 'fbytes') or '0')
local was_finished = (not insert) and redis.call('ZSCORE', base .. ':fin', id) ~= false
local count_after = count + (insert and 1 or 0)
local bytes_after = bytes - old_size + size
if may_refuse and (count_after > count or bytes_after > bytes) then
  local free_count = redis.call('ZCARD', base .. ':fin')
  local free_bytes = fbytes
  if was_finished then free_count = free_count - 1; free_bytes = free_bytes - old_size end
  if count_after - free_count > max_records or bytes_after - free_bytes > max_bytes then
    return {'quota'}
  end
end
redis.call('SET', rkey, json)
redis.call('HSET', meta, id, status .. '\\t' .. size .. '\\t' .. old_score)
if insert then
  redis.call('ZADD', base .. ':i:all', old_score, id)
  redis.call('HINCRBY', usage, 'count', 1)
end
redis.call('HINCRBY', usage, 'bytes', size - old_size)
if was_finished then redis.call('HINCRBY', usage, 'fbytes', -old_size) end
if old_status ~= status then
  if old_status then
    redis.call('ZREM', base .. ':i:s:' .. old_status, id)
    redis.call('ZREM', base .. ':i:live', id)
    redis.call('ZREM', base .. ':fin', id)
  end
  redis.call('ZADD', base .. ':i:s:' .. status, old_score, id)
  if live then
    redis.call('ZADD', base .. ':i:live', old_score, id)
  else
    redis.call('ZADD', base .. ':fin', redis.call('HINCRBY', usage, 'seq', 1), id)
  end
end
if not live then redis.call('HINCRBY', usage, 'fbytes', size) end
local evicted = {'ok'}
while tonumber(redis.call('HGET', usage, 'count')) > max_records
      or tonumber(redis.call('HGET', usage, 'bytes')) > max_bytes do
  local oldest = redis.call('ZRANGE', base .. ':fin', 0, 1)
  local victim = oldest[1]
  if victim == id then victim = oldest[2] end
  if not victim then break end
  local m = redis.call('HGET', meta, victim)
  local vstatus, vsize = string.match(m, '([^\\t]*)\\t([^\\t]*)\\t')
  local vkey = base .. ':r:' .. victim
  table.insert(evicted, redis.call('GET', vkey))
  redis.call('DEL', vkey)
  redis.call('HDEL', meta, victim)
  redis.call('ZREM', base .. ':i:all', victim)
  redis.call('ZREM', base .. ':i:s:' .. vstatus, victim)
  redis.call('ZREM', base .. ':fin', victim)
  redis.call('HINCRBY', usage, 'count', -1)
  redis.call('HINCRBY', usage, 'bytes', -tonumber(vsize))
  redis.call('HINCRBY', usage, 'fbytes', -tonumber(vsize))
end
return evicted
"""

# Newest first from one index: (total, then id, score, json triples).
_NEWEST = """
local index, base, limit, min = KEYS[1], KEYS[2], tonumber(ARGV[1]), ARGV[2]
local total = redis.call('ZCOUNT', index, min, '+inf')
local out = {total}
if limit > 0 then
  local rows = redis.call('ZREVRANGEBYSCORE', index, '+inf', min, 'WITHSCORES', 'LIMIT', 0, limit)
  for i = 1, #rows, 2 do
    table.insert(out, rows[i])
    table.insert(out, rows[i + 1])
    table.insert(out, redis.call('GET', base .. ':r:' .. rows[i]))
  end
end
return out
"""

_MAX_CAS_ATTEMPTS = 50
V = TypeVar("V", bound=BaseModel)


# One command of a pipeline: the client method's name and its arguments.
Command = tuple[str, tuple[Any, ...]]


def run_pipeline(
    client: redis.Redis, commands: Sequence[Command], scripts: Iterable[str]
) -> list[Any]:
    """`commands` in one round trip. Scripts go by EVALSHA (a registered script run in a
    pipeline first asks the server whether it knows it: a second round trip); when the
    server does not know one (a restart, a failover), `scripts` are loaded and the pipeline
    sent again (safe: a script that was not found did not run, the rest is idempotent)."""
    if not commands:
        return []
    for attempt in range(2):
        pipe = client.pipeline(transaction=False)
        for name, args in commands:
            getattr(pipe, name)(*args)
        try:
            return pipe.execute()
        except redis.exceptions.NoScriptError:
            if attempt:
                raise
            for source in scripts:
                client.script_load(source)
    raise AssertionError("unreachable")


class _WaitingRead:
    """One store's page read waiting in a `batched_reads()` block: the tenants it reads
    (None: every tenant in `tenants_key`, an operator's read), the commands `plan` makes for
    them, and the page `build` makes of their replies once the block was sent."""

    __slots__ = ("build", "page", "plan", "tenants", "tenants_key")

    def __init__(
        self,
        tenants: list[str] | None,
        tenants_key: str,
        plan: Callable[[list[str]], list[Command]],
        build: Callable[[list[Any]], Page],
    ) -> None:
        self.tenants = tenants
        self.tenants_key = tenants_key
        self.plan = plan
        self.build = build
        self.page: Page | None = None

    def answer(self) -> Page:
        """The page, sending every read still waiting in the block first if need be."""
        if self.page is None:
            _send_waiting()
        if self.page is None:
            raise RuntimeError("A deferred page was read after its batch was dropped.")
        return self.page


class _Waiting(threading.local):
    def __init__(self) -> None:
        self.client: redis.Redis | None = None
        self.reads: list[_WaitingRead] | None = None  # None: reads go at once


_waiting = _Waiting()


@contextmanager
def batched_reads() -> Iterator[None]:
    """Within the block, this thread's page reads of every `RedisRecordStore` answer a page
    that waits (`PageWhenRead`); they are sent together, in one pipeline, when one of them
    is first read or when the block ends. Nested blocks join the outer one."""
    if _waiting.reads is not None:
        yield
        return
    _waiting.reads = []
    try:
        yield
        _send_waiting()
    finally:
        _waiting.reads, _waiting.client = None, None


def _send_waiting() -> None:
    """Every waiting read in one pipeline; an operator's reads first learn their tenants,
    all of them in one pipeline before it."""
    reads, client = _waiting.reads, _waiting.client
    if not reads or client is None:
        return
    _waiting.reads = []
    unknown = [read for read in reads if read.tenants is None]
    if unknown:
        replies = run_pipeline(client, [("smembers", (r.tenants_key,)) for r in unknown], [])
        for read, members in zip(unknown, replies, strict=True):
            read.tenants = tenants_of(members)
    planned = [read.plan(read.tenants or []) for read in reads]
    replies = iter(run_pipeline(client, [c for commands in planned for c in commands], [_NEWEST]))
    for read, commands in zip(reads, planned, strict=True):
        read.page = read.build([next(replies) for _ in commands])


def text_of(raw: bytes | str) -> str:
    """A Redis reply as text (the client answers bytes)."""
    return raw.decode() if isinstance(raw, bytes) else raw


def tenants_of(members: Iterable[bytes | str]) -> list[str]:
    """A tenants set's members (an SMEMBERS reply) as text, in order: what an operator's
    read fans out over."""
    return sorted(map(text_of, members))


def hash_tag(tenant: str) -> str:
    """The tenant as it stands inside a hash tag: braces and `%` percent-encoded."""
    return tenant.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


class RedisRecordStore(Generic[R]):
    """`RecordStore` on Redis; `spec.model` reads records back from their JSON."""

    def __init__(
        self, spec: StoreSpec[R], *, client: redis.Redis, prefix: str, name: str, model: type[R]
    ) -> None:
        self.spec = spec
        self._redis = client
        self._prefix = prefix
        self._name = name
        self._model = model
        self._put = client.register_script(_PUT)
        self._newest = client.register_script(_NEWEST)
        self._tenants_key = f"{prefix}:{name}:tenants"
        self._where_key = f"{prefix}:{name}:where"

    def _base(self, tenant: str) -> str:
        return f"{{{self._prefix}:{hash_tag(tenant)}}}:{self._name}"

    def _load(self, raw: bytes | str | None) -> R | None:
        return None if raw is None else self._model.model_validate_json(raw)

    # --- reads ---------------------------------------------------------------------

    def get(self, record_id: str, *, tenant_id: str | None) -> R | None:
        tenant = tenant_id
        if tenant is None:
            found = self._redis.hget(self._where_key, record_id)
            if found is None:
                return None
            tenant = text_of(found)
        return self._load(self._redis.get(f"{self._base(tenant)}:r:{record_id}"))

    def newest(self, *, tenant_id: str | None, status: str | None, limit: int) -> Page[R]:
        index = "all" if status is None else f"s:{status}"
        return self._read(tenant_id, index, limit, "-inf")

    def newest_live(self, *, tenant_id: str | None, limit: int) -> Page[R]:
        return self._read(tenant_id, "live", limit, "-inf")

    def since(self, *, tenant_id: str | None, since: datetime, limit: int) -> Page[R]:
        return self._read(tenant_id, "all", limit, repr(since.timestamp()))

    def usage(self, tenant_id: str) -> tuple[int, int]:
        count, used = self._redis.hmget(f"{self._base(tenant_id)}:u", "count", "bytes")
        return int(count or 0), int(used or 0)

    def _tenants(self, tenant_id: str | None) -> list[str]:
        if tenant_id is not None:
            return [tenant_id]
        return tenants_of(self._redis.smembers(self._tenants_key))

    def _read(self, tenant_id: str | None, index: str, limit: int, minimum: str) -> Page[R]:
        def plan(tenants: list[str]) -> list[Command]:
            return self._page_commands(tenants, index, limit, minimum)

        def build(replies: list[Any]) -> Page[R]:
            return self._page(replies, limit)

        if _waiting.reads is not None and _waiting.client in (None, self._redis):
            tenants = None if tenant_id is None else [tenant_id]
            read = _WaitingRead(tenants, self._tenants_key, plan, build)
            _waiting.client = self._redis
            _waiting.reads.append(read)
            return PageWhenRead(read.answer)  # type: ignore[return-value]  (reads as a Page)
        return build(run_pipeline(self._redis, plan(self._tenants(tenant_id)), [_NEWEST]))

    def _page(self, replies: list[Any], limit: int) -> Page[R]:
        """The newest `limit` of every tenant's page reply."""
        total, rows = 0, []
        for reply in replies:
            total += int(reply[0])
            for position in range(1, len(reply), 3):
                score, raw = float(reply[position + 1]), reply[position + 2]
                rows.append((score, reply[position], raw))
        newest = heapq.nlargest(limit, rows, key=lambda row: (row[0], row[1]))
        keys = [(score, member.decode()) for score, member, _ in newest]
        # Parsed when read: the hub merges pages by key and reads only the records it shows.
        records = LazyRecords([raw for _, _, raw in newest], self._model.model_validate_json)
        return Page(total, records, keys)

    def _page_commands(
        self, tenants: list[str], index: str, limit: int, minimum: str
    ) -> list[Command]:
        """Each tenant's page read: one EVALSHA each, sent as one pipeline."""
        sha = self._newest.sha
        commands: list[Command] = []
        for tenant in tenants:
            base = self._base(tenant)
            commands.append(("evalsha", (sha, 2, f"{base}:i:{index}", base, limit, minimum)))
        return commands

    # --- writes --------------------------------------------------------------------

    def insert(self, record: R) -> R:
        # One round trip: the tenants set and the id's tenant go first, so a stored record is
        # always reachable by an operator's reads; HSETNX leaves a taken id's tenant alone.
        _, placed, reply = run_pipeline(
            self._redis,
            [
                ("sadd", (self._tenants_key, record.tenant_id)),
                ("hsetnx", (self._where_key, record.id, record.tenant_id)),
                (
                    "evalsha",
                    (
                        self._put.sha,
                        1,
                        self._base(record.tenant_id),
                        *self._put_args(record, insert=True, expected="", may_refuse=True),
                    ),
                ),
            ],
            [_PUT],
        )
        try:
            outcome = self._outcome(reply)
        finally:
            if placed and text_of(reply[0]) != "ok":  # nothing was stored under this id
                self._redis.hdel(self._where_key, record.id)
        if outcome == "exists":
            raise ValueError(f"Duplicate {self.spec.noun} id {record.id!r}.")
        return record

    def update(
        self, record_id: str, *, tenant_id: str | None, change: Callable[[R], R]
    ) -> tuple[R, R] | None:
        for _ in range(_MAX_CAS_ATTEMPTS):
            tenant = tenant_id
            if tenant is None:
                found = self._redis.hget(self._where_key, record_id)
                if found is None:
                    return None
                tenant = found.decode()
            raw = self._redis.get(f"{self._base(tenant)}:r:{record_id}")
            if raw is None:
                return None
            current = self._model.model_validate_json(raw)
            updated = change(current)
            if updated is current:
                return current, current
            live = self.spec.status_of(updated) in self.spec.live_statuses
            reply = self._write(updated, insert=False, expected=raw, may_refuse=live)
            if reply != "conflict":
                return current, updated
        raise RuntimeError(f"{self.spec.noun} {record_id!r} kept changing under this update.")

    def _write(self, record: R, *, insert: bool, expected: bytes | str, may_refuse: bool) -> Any:
        args = self._put_args(record, insert=insert, expected=expected, may_refuse=may_refuse)
        return self._outcome(self._put(keys=[self._base(record.tenant_id)], args=args))

    def _put_args(
        self, record: R, *, insert: bool, expected: bytes | str, may_refuse: bool
    ) -> list[Any]:
        """`_PUT`'s ARGV for writing `record`."""
        spec = self.spec
        status = spec.status_of(record)
        return [
            record.id,
            record.model_dump_json(),
            status,
            repr(spec.time_of(record).timestamp()),
            spec.size_of(record),
            "1" if status in spec.live_statuses else "0",
            "1" if insert else "0",
            expected,
            spec.max_records,
            spec.max_bytes,
            "1" if may_refuse else "0",
        ]

    def _outcome(self, reply: list[Any]) -> str:
        """`_PUT`'s outcome; refused for the quota, it raises. Evicted records are let go."""
        spec = self.spec
        outcome = text_of(reply[0])
        if outcome == "quota":
            raise QuotaExceeded(
                f"This tenant's {spec.noun} store is full of live records (at most "
                f"{spec.max_records} records and {spec.max_bytes} bytes per tenant); "
                f"finish some before adding more."
            )
        if outcome == "ok" and len(reply) > 1:
            self._evicted([self._model.model_validate_json(raw) for raw in reply[1:]])
        return outcome

    def _evicted(self, records: list[R]) -> None:
        self._redis.hdel(self._where_key, *(record.id for record in records))
        if self.spec.on_evict is not None:
            for record in records:
                self.spec.on_evict(record)


class RedisKeyedStore(Generic[V]):
    """`KeyedStore` on Redis: one key per value (`<prefix>:<name>:<key>`, the model's JSON),
    so every call touches one key and runs unchanged on Redis Cluster; `update` is
    WATCH/MULTI compare-and-set, retried when another process wrote in between."""

    def __init__(self, *, client: redis.Redis, prefix: str, name: str, model: type[V]) -> None:
        self._redis = client
        self._base = f"{prefix}:{name}"
        self._model = model

    def _key(self, key: str) -> str:
        return f"{self._base}:{key}"

    def get(self, key: str) -> V | None:
        raw = self._redis.get(self._key(key))
        return None if raw is None else self._model.model_validate_json(raw)

    def put(self, key: str, value: V) -> None:
        self._redis.set(self._key(key), value.model_dump_json())

    def update(self, key: str, change: Callable[[V | None], V]) -> V:
        name = self._key(key)
        for _ in range(_MAX_CAS_ATTEMPTS):
            with self._redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(name)
                    raw = pipe.get(name)
                    current = None if raw is None else self._model.model_validate_json(raw)
                    value = change(current)
                    pipe.multi()
                    pipe.set(name, value.model_dump_json())
                    pipe.execute()
                    return value
                except redis.WatchError:
                    continue
        raise RuntimeError(f"{name!r} kept changing under this update.")

    def delete(self, *keys: str) -> None:
        if keys:
            self._redis.delete(*(self._key(key) for key in keys))

    def __len__(self) -> int:
        """How many values are kept: a SCAN over this store's keys (O(n), for checks only)."""
        pattern = self._key("*").replace("[", "\\[")
        return sum(1 for _ in self._redis.scan_iter(match=pattern, count=1000))
