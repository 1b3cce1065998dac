"""The Redis backend of `EventStore`: `MemoryEventStore`'s promises, across processes.

Layout, for prefix `P` and tenant `T` (every key of a tenant starts with the hash tag
`{P:T}`, braces in T escaped by `agent33_core.redis_store.hash_tag`, so each script touches one
Redis Cluster slot). `<m>` is a metric, `<d>` a domain, `<S>` a series: `m:<m>` (every
domain) or `d:<m>:<d>`; a member is `<seq>:<id>`, `seq` 17 zero-padded digits of arrival:

    {P:T}:o:u             HASH    count, bytes, evictable (bytes no live key holds), seq
    {P:T}:o:ev            HASH    id -> the event's compact JSON
    {P:T}:o:em            HASH    id -> JSON [member, metric, domain, event_type, failure
                                  class, size, value, success, then its bucket per level]
    {P:T}:o:t             ZSET    member, scored by occurred_at in microseconds
    {P:T}:o:dt:<d>        ZSET    the same, one domain
    {P:T}:o:et:<type>     ZSET    the same, one event type
    {P:T}:o:s:<S>         ZSET    `<member>:<value>` (the value's repr), per series
    {P:T}:o:b:<L>:<S>     HASH    bucket -> "count:successes:c1:c2:...", L a level of
                                  LEVELS (day, 4 h, hour, 10 min, minute, 10 s, second);
                                  c1.. an expansion of doubles (Shewchuk) whose exact sum
                                  is the bucket's sum
    {P:T}:o:c, :c:<d>     HASH    tallies: total, d:<domain>, e:<type>, m:<metric>, f:<class>
    {P:T}:o:k:<key>       STRING  idempotency key -> event id (PX: the TTL and an hour)
    {P:T}:o:kz            ZSET    id of each keyed event, scored by when its key was taken
    {P:T}:o:kh            HASH    id -> "<i|e>:<key bytes>:<key>" (e: evicted, key holds it)
    P:o:tenants           SET     tenants (operator reads fan out over it)

`insert` is one Lua script (`_INSERT`): expire keys, answer a live key, check the caps,
store and index, evict the oldest; the one global key is written outside it (SADD, in the
same pipeline, before). Round trips: `insert` 1; `newest`, `tails`, `totals`, `summary`,
`count` and `usage` 1 for a tenant, 2 for an operator (SMEMBERS, then one pipeline over
the tenants); `newest_occurred_at` (the health check, global) 2, reading each tenant's
newest from its timeline; `dashboard_reads` sends the dashboard's `tails`, `newest`, `totals` and
`summary` together, in as many. The client must answer bytes (as
`agent33_core.state.redis_client` does).

Scores are occurred_at in microseconds, exact in a double for |t| < 2**53 us (the years
1685 to 2255); bucket numbers are computed in Python from the exact integer.

Exact sums: Lua numbers are doubles, so a bucket keeps its sum as an expansion grown with
error-free two-sum (exact for finite doubles; |value| <= 1e15 keeps every partial finite)
and compressed to stay short; Python turns the parts into `index.scaled` integers. A span's
totals are its whole buckets of each level (HMGET, summed in the script) plus the events of
its partial seconds (ZRANGEBYSCORE; members carry values): bounded by the span's length and
the events of one second, never the history. (With minutes the finest level, a dashboard
under steady writes summed every event of the current minute, member by member.)
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import redis

from agent33_core.redis_store import Command, hash_tag, run_pipeline, tenants_of, text_of

from .domain import (
    SUCCESS_THRESHOLD,
    FailureMode,
    MetricType,
    OutcomeEvent,
    OutcomeSummary,
    failure_class_of,
)
from .idempotency import key_bytes
from .index import (
    SIZE,
    RangeTotals,
    Tally,
    duration_key,
    key_bound,
    occurred_at_of,
    scaled,
    stored_event,
    time_key,
)
from .store import (
    DashboardReads,
    EventCaps,
    Span,
    budget_held_by_keys,
    inclusive_end_us,
    summarize,
    too_many_keys,
)

# Buckets of a series' running totals, coarsest first: (level name, width in microseconds).
# Each width divides the one before, so a span is whole buckets of each level plus at most
# two partial seconds; a level between each power step (4 h, 10 min, 10 s) keeps a week's
# span to ~80 buckets (what the dashboard reads per metric and span).
LEVELS: tuple[tuple[str, int], ...] = (
    ("d", duration_key(timedelta(days=1))),
    ("q", duration_key(timedelta(hours=4))),
    ("h", duration_key(timedelta(hours=1))),
    ("t", duration_key(timedelta(minutes=10))),
    ("n", duration_key(timedelta(minutes=1))),
    ("x", duration_key(timedelta(seconds=10))),
    ("s", duration_key(timedelta(seconds=1))),
)
# A key's STRING outlives its TTL by this much: the key ZSET (the service's clock) expires it,
# so a Redis clock running ahead of the service's never forgets a key younger than the TTL.
KEY_EXPIRY_MARGIN = timedelta(hours=1)
_SEQ_DIGITS = 17  # a member's arrival prefix; Redis TIME in microseconds has 16 digits

_LUA_SUMS = """
local function two_sum(a, b)
  local s = a + b
  local bv = s - a
  return s, (a - (s - bv)) + (b - bv)
end

-- Shewchuk's COMPRESS (with two-sum, exact whatever the order): a short expansion.
local function compress(e)
  local m = #e
  if m < 2 then return e end
  local g, h = {}, {}
  local big, small = e[m], 0
  local bottom = m
  for i = m - 1, 1, -1 do
    big, small = two_sum(big, e[i])
    if small ~= 0 then
      g[bottom] = big
      bottom = bottom - 1
      big = small
    end
  end
  g[bottom] = big
  for i = bottom + 1, m do
    big, small = two_sum(g[i], big)
    if small ~= 0 then h[#h + 1] = small end
  end
  if big ~= 0 then h[#h + 1] = big end
  return h
end

-- Add x to the expansion `parts` exactly, in place: each two-sum keeps its error as a
-- partial, as math.fsum does (exact whatever the order; COMPRESS makes it short again).
local function add_exact(parts, x)
  local kept = 0
  for j = 1, #parts do
    local hi, lo = two_sum(x, parts[j])
    if lo ~= 0 then
      kept = kept + 1
      parts[kept] = lo
    end
    x = hi
  end
  for j = #parts, kept + 1, -1 do parts[j] = nil end
  parts[kept + 1] = x
end

-- A total is {count, successes, parts}; as text (a bucket, or a read's answer) it is
-- "count:successes:part:part...". Add a text's counts and parts (exactly) to a total:
local function add_text(total, text)
  local n = 0
  for piece in string.gmatch(text, '[^:]+') do
    n = n + 1
    if n == 1 then
      total[1] = total[1] + tonumber(piece)
    elseif n == 2 then
      total[2] = total[2] + tonumber(piece)
    else
      add_exact(total[3], tonumber(piece))
    end
  end
end

local function as_text(total)  -- its parts compressed
  local parts = compress(total[3])
  local text = {string.format('%d', total[1]), string.format('%d', total[2])}
  for j = 1, #parts do text[#text + 1] = string.format('%.17g', parts[j]) end
  return table.concat(text, ':')
end

-- Add (sign = 1) or remove (sign = -1) one value in a bucket.
local function bucket_add(hash, field, value, success, sign)
  local old = redis.call('HGET', hash, field)
  local total = {0, 0, {}}
  if old then add_text(total, old) end
  total[1] = total[1] + sign
  if total[1] <= 0 then
    redis.call('HDEL', hash, field)
    return
  end
  total[2] = total[2] + sign * success
  add_exact(total[3], sign * value)
  redis.call('HSET', hash, field, as_text(total))
end
"""

_INSERT = (
    _LUA_SUMS
    + "local LEVELS = {"
    + ", ".join(f"'{name}'" for name, _ in LEVELS)
    + "}\n"
    + """
local base = KEYS[1]
local id, event_json, score = ARGV[1], ARGV[2], ARGV[3]
local value_text, size, success = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local metric, domain, event_type, failure = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local now_us, cutoff_us = ARGV[11], ARGV[12]
local keyed, key, key_size, key_ttl_ms = ARGV[13] == '1', ARGV[14], tonumber(ARGV[15]), ARGV[16]
local max_events, max_keys, max_bytes = tonumber(ARGV[17]), tonumber(ARGV[18]), tonumber(ARGV[19])
local buckets = {}  -- the event's bucket at each level of LEVELS, after the fixed arguments
for i = 20, #ARGV do buckets[#buckets + 1] = ARGV[i] end

local usage, ev, em = base .. ':u', base .. ':ev', base .. ':em'
local kz, kh = base .. ':kz', base .. ':kh'
local state = redis.call('HMGET', usage, 'count', 'bytes', 'evictable', 'seq')
local count, bytes = tonumber(state[1] or '0'), tonumber(state[2] or '0')
local evictable, last_seq = tonumber(state[3] or '0'), tonumber(state[4] or '0')

local function tally(hash, fields, sign)
  for _, field in ipairs(fields) do
    if redis.call('HINCRBY', hash, field, sign) <= 0 then redis.call('HDEL', hash, field) end
  end
end

-- Add (1) or remove (-1) an event, described by its meta, in every index and counter.
local function apply(meta, sign, at)
  local member, m, d, etype = meta[1], meta[2], meta[3], meta[4]
  local vmember = member .. ':' .. meta[7]
  local value, wins = tonumber(meta[7]), meta[8]
  local series = {'m:' .. m, 'd:' .. m .. ':' .. d}
  if sign > 0 then
    redis.call('ZADD', base .. ':t', at, member)
    redis.call('ZADD', base .. ':dt:' .. d, at, member)
    redis.call('ZADD', base .. ':et:' .. etype, at, member)
    for _, s in ipairs(series) do redis.call('ZADD', base .. ':s:' .. s, at, vmember) end
  else
    redis.call('ZREM', base .. ':t', member)
    redis.call('ZREM', base .. ':dt:' .. d, member)
    redis.call('ZREM', base .. ':et:' .. etype, member)
    for _, s in ipairs(series) do redis.call('ZREM', base .. ':s:' .. s, vmember) end
  end
  for _, s in ipairs(series) do
    for level, name in ipairs(LEVELS) do
      bucket_add(base .. ':b:' .. name .. ':' .. s, meta[8 + level], value, wins, sign)
    end
  end
  local fields = {'total', 'd:' .. d, 'e:' .. etype, 'm:' .. m}
  if m == 'failure_class' then fields[5] = 'f:' .. meta[5] end
  tally(base .. ':c', fields, sign)
  tally(base .. ':c:' .. d, fields, sign)
end

-- 1. Forget the keys taken at or before the cutoff, and what only they held.
local expired = redis.call('ZRANGEBYSCORE', kz, '-inf', cutoff_us)
for _, eid in ipairs(expired) do
  local held = redis.call('HGET', kh, eid)
  local held_state, held_size, name = string.match(held, '^(.):(%d+):(.*)$')
  local esize = cjson.decode(redis.call('HGET', em, eid))[6]
  bytes = bytes - tonumber(held_size)
  if held_state == 'e' then
    redis.call('HDEL', ev, eid)
    redis.call('HDEL', em, eid)
    bytes = bytes - esize
  else
    evictable = evictable + esize
  end
  redis.call('HDEL', kh, eid)
  local key_name = base .. ':k:' .. name
  if redis.call('GET', key_name) == eid then redis.call('DEL', key_name) end
end
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', kz, '-inf', cutoff_us)
  redis.call('HSET', usage, 'bytes', string.format('%d', bytes),
    'evictable', string.format('%d', evictable))
end

-- 2. A live key answers its first event; then the caps.
local needed = size
if keyed then
  local first = redis.call('GET', base .. ':k:' .. key)
  if first then return {'retry', redis.call('HGET', ev, first)} end
  if redis.call('ZCARD', kz) >= max_keys then return {'keys'} end
  needed = needed + key_size
end
if bytes - evictable + needed > max_bytes then return {'bytes'} end

-- 3. Store and index; arrival orders events of one moment (and, roughly, across tenants).
local now = redis.call('TIME')
local seq = tonumber(now[1]) * 1000000 + tonumber(now[2])
if seq <= last_seq then seq = last_seq + 1 end
local seq_text = string.format('%017.0f', seq)
local meta = {seq_text .. ':' .. id, metric, domain, event_type, failure, size, value_text,
  success}
for _, bucket in ipairs(buckets) do meta[#meta + 1] = bucket end
redis.call('HSET', ev, id, event_json)
redis.call('HSET', em, id, cjson.encode(meta))
apply(meta, 1, score)
count = count + 1
if keyed then
  redis.call('SET', base .. ':k:' .. key, id, 'PX', key_ttl_ms)
  redis.call('ZADD', kz, now_us, id)
  redis.call('HSET', kh, id, 'i:' .. string.format('%d', key_size) .. ':' .. key)
  bytes = bytes + key_size + size
else
  bytes = bytes + size
  evictable = evictable + size
end

-- 4. Evict the oldest by (occurred_at, arrival) while over a cap.
while count > 0 and (count > max_events or bytes > max_bytes) do
  local oldest = redis.call('ZRANGE', base .. ':t', 0, 0)[1]
  local eid = string.sub(oldest, 19)
  local old = cjson.decode(redis.call('HGET', em, eid))
  apply(old, -1, nil)
  count = count - 1
  local held = redis.call('HGET', kh, eid)
  if held then
    redis.call('HSET', kh, eid, 'e' .. string.sub(held, 2))
  else
    redis.call('HDEL', ev, eid)
    redis.call('HDEL', em, eid)
    bytes = bytes - old[6]
    evictable = evictable - old[6]
  end
end
redis.call('HSET', usage, 'count', string.format('%d', count), 'bytes', string.format('%d', bytes),
  'evictable', string.format('%d', evictable), 'seq', seq_text)
return {'ok'}
"""
)

# Newest first within [low, high) (scores), at most `limit`: (member, score, event JSON)
# triples. KEYS: the index that fits the metric/domain filter, the tenant's base, and the
# event type's index (used when ARGV[7] is '1'). With both, the script walks whichever
# holds fewer events in the range (by rank, a page at a time) and keeps those the other
# filter also matches.
_NEWEST = """
local index, base, typed = KEYS[1], KEYS[2], KEYS[3]
local low, high, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local valued, metric, domain, by_type = ARGV[4] == '1', ARGV[5], ARGV[6], ARGV[7] == '1'
local out = {}
if limit <= 0 then return out end

local function ranks(zset)
  local first = 0
  if high ~= '+inf' then first = redis.call('ZCOUNT', zset, high, '+inf') end
  return first, redis.call('ZCOUNT', zset, low, '+inf') - 1
end

local rank, last = ranks(index)
local check = nil  -- nil: every event of the walked index matches
if by_type then
  local typed_rank, typed_last = ranks(typed)
  if typed_last - typed_rank < last - rank then
    index, rank, last, valued, check = typed, typed_rank, typed_last, false, 'meta'
  else
    check = 'typed'
  end
end
local page = limit
if check then page = math.max(limit, 256) end
page = math.min(page, 1000)  -- unpack() below takes at most a few thousand values
local found = 0
while rank <= last and found < limit do
  local stop = math.min(rank + page - 1, last)
  local rows = redis.call('ZREVRANGE', index, rank, stop, 'WITHSCORES')
  local ids, members, scores = {}, {}, {}
  for i = 1, #rows, 2 do
    local member = rows[i]
    if valued then member = string.match(member, '^(.*):[^:]*$') end
    ids[#ids + 1], members[#members + 1], scores[#scores + 1] = string.sub(member, 19), member,
      rows[i + 1]
  end
  local wanted = {}
  if check == 'meta' then
    local metas = redis.call('HMGET', base .. ':em', unpack(ids))
    for i = 1, #ids do
      local meta = cjson.decode(metas[i])
      if (metric == '' or meta[2] == metric) and (domain == '' or meta[3] == domain) then
        wanted[#wanted + 1] = i
      end
    end
  else
    for i = 1, #ids do
      if check == nil or redis.call('ZSCORE', typed, members[i]) then wanted[#wanted + 1] = i end
    end
  end
  local chosen = {}
  for _, i in ipairs(wanted) do
    if found + #chosen >= limit then break end
    chosen[#chosen + 1] = i
  end
  if #chosen > 0 then
    local chosen_ids = {}
    for j, i in ipairs(chosen) do chosen_ids[j] = ids[i] end
    local events = redis.call('HMGET', base .. ':ev', unpack(chosen_ids))
    for j, i in ipairs(chosen) do
      out[#out + 1] = members[i]
      out[#out + 1] = scores[i]
      out[#out + 1] = events[j]
    end
    found = found + #chosen
  end
  rank = stop + 1
end
return out
"""

# One tenant's range totals in one command, all of it computed here: `walk` covers each
# span with runs of whole buckets per level (coarsest first) and at most two partial-second
# edges; each level's runs of every span are one HMGET, each edge one ZRANGEBYSCORE, and all
# of it is summed exactly into one "count:successes:parts" text per series and span.
# Sending the runs (or the bucket names) instead cost the client more packing than the
# whole read cost Redis. Bounds are whole microseconds below 2**53, so a division by a
# level's width rounds to the right bucket and the products are exact.
# KEYS[1]: the tenant's base. ARGV: the success threshold, the number of series, the series,
# then each span's start and end (microseconds). Answers series-major, one text per span.
_READ_TOTALS = (
    _LUA_SUMS
    + "local LEVELS = {"
    + ", ".join(f"{{'{name}', {width}}}" for name, width in LEVELS)
    + "}\n"
    + """
local base, threshold, nseries = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local spans = {}
for i = 3 + nseries, #ARGV, 2 do spans[#spans + 1] = {tonumber(ARGV[i]), tonumber(ARGV[i + 1])} end

local runs, edges = {}, {}  -- runs[level]: {span, first, last}; edges: {span, low, high}
for level = 1, #LEVELS do runs[level] = {} end
local function walk(span, low, high, level)
  if low >= high then return end
  if level > #LEVELS then
    edges[#edges + 1] = {span, low, high}
    return
  end
  local width = LEVELS[level][2]
  local first, last = math.ceil(low / width), math.floor(high / width)
  if first >= last then return walk(span, low, high, level + 1) end
  local level_runs = runs[level]
  level_runs[#level_runs + 1] = {span, first, last}
  walk(span, low, first * width, level + 1)
  walk(span, last * width, high, level + 1)
end
for span, bounds in ipairs(spans) do walk(span, bounds[1], bounds[2], 1) end

-- The bucket names of each level's runs, and the span each belongs to: the same per series.
local fields, owners = {}, {}
for level = 1, #LEVELS do
  local names, owner = {}, {}
  for _, run in ipairs(runs[level]) do
    for b = run[2], run[3] - 1 do
      names[#names + 1] = string.format('%d', b)
      owner[#owner + 1] = run[1]
    end
  end
  fields[level], owners[level] = names, owner
end

local out = {}
for s = 1, nseries do
  local series = ARGV[2 + s]
  local totals = {}
  for span = 1, #spans do totals[span] = {0, 0, {}} end
  for level = 1, #LEVELS do
    local names, owner = fields[level], owners[level]
    local key = base .. ':b:' .. LEVELS[level][1] .. ':' .. series
    for from = 1, #names, 512 do  -- HMGET in slices: unpack has a C stack limit
      local upto = math.min(from + 511, #names)
      for j, raw in ipairs(redis.call('HMGET', key, unpack(names, from, upto))) do
        if raw then add_text(totals[owner[from + j - 1]], raw) end
      end
    end
  end
  for _, edge in ipairs(edges) do
    local total = totals[edge[1]]
    local low, high = string.format('%d', edge[2]), '(' .. string.format('%d', edge[3])
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', base .. ':s:' .. series, low, high)) do
      local x = tonumber(string.match(member, ':([^:]*)$'))
      total[1] = total[1] + 1
      if x >= threshold then total[2] = total[2] + 1 end
      add_exact(total[3], x)
    end
  end
  for span = 1, #spans do out[#out + 1] = as_text(totals[span]) end
end
return out
"""
)

_SCRIPTS = {"insert": _INSERT, "newest": _NEWEST, "read_totals": _READ_TOTALS}


# A read as the commands it sends and what makes its answer of their replies.
_Plan = tuple[list[Command], Callable[[list[Any]], Any]]


def _series(metric: MetricType | str, domain: str | None) -> str:
    metric = MetricType(metric).value
    return f"m:{metric}" if domain is None else f"d:{metric}:{domain}"


def _bucket_totals(raw: bytes) -> tuple[int, int, int]:
    count, successes, *parts = raw.split(b":")
    return int(count), sum(scaled(float(part)) for part in parts), int(successes)


def _value_of(member: bytes) -> float:
    return float(member.rsplit(b":", 1)[1])


def _order(row: tuple[bytes, float]) -> tuple[float, bytes]:
    """(occurred_at, arrival) of a (member, score) row: the merge order across tenants."""
    member, score = row
    return score, member[:_SEQ_DIGITS]


def _moment(time_us: int) -> datetime:
    """Microseconds since the epoch as an aware UTC datetime (what memory returns)."""
    return occurred_at_of(key_bound(time_us))


def _event_json(event: OutcomeEvent) -> str:
    return json.dumps(
        {
            "id": event.id,
            "tenant_id": event.tenant_id,
            "domain": event.domain,
            "event_type": event.event_type,
            "metric_type": MetricType(event.metric_type).value,
            "value": float(event.value),
            "occurred_at": _moment(time_key(event.occurred_at)).isoformat(),
            "metadata": event.metadata,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _event(raw: bytes | str) -> OutcomeEvent:
    data = json.loads(raw)
    # Built from a validated event, as memory's `index.to_event` is.
    return OutcomeEvent.model_construct(
        id=data["id"],
        tenant_id=data["tenant_id"],
        domain=data["domain"],
        event_type=data["event_type"],
        metric_type=MetricType(data["metric_type"]),
        value=data["value"],
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        metadata=data["metadata"],
    )


class RedisEventStore:
    """`EventStore` on Redis: one tenant's events, indexes and counters under one hash tag."""

    def __init__(self, *, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._tenants_key = f"{prefix}:o:tenants"
        self._shas = {
            name: hashlib.sha1(source.encode()).hexdigest() for name, source in _SCRIPTS.items()
        }

    def _base(self, tenant: str) -> str:
        return f"{{{self._prefix}:{hash_tag(tenant)}}}:o"

    def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Command:
        return "evalsha", (self._shas[name], len(keys), *keys, *args)

    def _run(self, commands: Sequence[Command]) -> list[Any]:
        """One round trip: `commands` as one pipeline (see `run_pipeline`)."""
        return run_pipeline(self._redis, commands, _SCRIPTS.values())

    def _tenants(self, tenant_id: str | None) -> list[str]:
        if tenant_id is not None:
            return [tenant_id]
        return tenants_of(self._redis.smembers(self._tenants_key))

    # --- writes ---------------------------------------------------------------------

    def insert(
        self, event: OutcomeEvent, *, caps: EventCaps, now: datetime, idempotency_key: str | None
    ) -> tuple[OutcomeEvent, bool]:
        occurred_us = time_key(event.occurred_at)
        buckets = [str(occurred_us // width) for _, width in LEVELS]
        keyed = idempotency_key is not None
        args = [
            event.id,
            _event_json(event),
            occurred_us,
            repr(float(event.value)),
            stored_event(event, 0)[SIZE],
            1 if event.value >= SUCCESS_THRESHOLD else 0,
            MetricType(event.metric_type).value,
            event.domain,
            event.event_type,
            failure_class_of(event),
            time_key(now),
            time_key(now - caps.key_ttl),
            "1" if keyed else "0",
            idempotency_key if keyed else "",
            key_bytes(idempotency_key) if keyed else 0,
            duration_key(caps.key_ttl + KEY_EXPIRY_MARGIN) // 1000,
            caps.max_events,
            caps.max_keys,
            caps.max_bytes,
            *buckets,
        ]
        # The tenants set first (harmless if the write is refused), so a stored event is
        # always reachable by operator reads.
        _, reply = self._run(
            [
                ("sadd", (self._tenants_key, event.tenant_id)),
                self._script("insert", [self._base(event.tenant_id)], args),
            ]
        )
        outcome = text_of(reply[0])
        if outcome == "retry":
            return _event(reply[1]), False
        if outcome == "keys":
            raise too_many_keys(caps)
        if outcome == "bytes":
            raise budget_held_by_keys(caps)
        return event, True

    # --- reads ----------------------------------------------------------------------

    def newest(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        event_type: str | None,
        metric_type: MetricType | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[OutcomeEvent]:
        if limit <= 0:
            return []
        return self._answer(
            self._newest(
                self._tenants(tenant_id), domain, event_type, metric_type, since, until, limit
            )
        )[0]

    def tails(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        metrics: Sequence[MetricType],
        count: int,
    ) -> dict[MetricType, list[float]]:
        if count <= 0:
            return {metric: [] for metric in metrics}
        return self._answer(self._tails(self._tenants(tenant_id), domain, metrics, count))[0]

    def totals(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        metrics: Sequence[MetricType],
        spans: Sequence[Span],
    ) -> dict[MetricType, list[RangeTotals]]:
        return self._answer(self._totals(self._tenants(tenant_id), domain, metrics, spans))[0]

    def summary(
        self, *, tenant_id: str | None, domain: str | None, top_failure_modes: int
    ) -> tuple[OutcomeSummary, list[FailureMode]]:
        return self._answer(self._summary(self._tenants(tenant_id), domain, top_failure_modes))[0]

    def dashboard_reads(
        self,
        *,
        tenant_id: str | None,
        domain: str | None,
        metrics: Sequence[MetricType],
        count: int,
        recent_limit: int,
        spans: Sequence[Span],
        top_failure_modes: int,
    ) -> DashboardReads:
        tenants = self._tenants(tenant_id)
        return DashboardReads(
            *self._answer(
                self._tails(tenants, domain, metrics, count),
                self._newest(tenants, domain, None, None, None, None, recent_limit),
                self._totals(tenants, domain, metrics, spans),
                self._summary(tenants, domain, top_failure_modes),
            )
        )

    # Each read as a plan: its commands for the tenants, and what makes the answer of their
    # replies. `_answer` sends the commands of one or more plans as one pipeline.

    def _answer(self, *plans: _Plan) -> list[Any]:
        replies = iter(self._run([command for commands, _ in plans for command in commands]))
        return [build([next(replies) for _ in commands]) for commands, build in plans]

    def _newest(
        self,
        tenants: list[str],
        domain: str | None,
        event_type: str | None,
        metric_type: MetricType | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> _Plan:
        low = time_key(since) if since is not None else "-inf"
        high = inclusive_end_us(until) if until is not None else "+inf"
        if metric_type is not None:
            index, valued = f"s:{_series(metric_type, domain)}", "1"
        elif domain is not None:
            index, valued = f"dt:{domain}", "0"
        else:
            index, valued = "t", "0"
        typed = event_type is not None
        if typed and index == "t":  # the event type's own index is the whole answer
            index, typed = f"et:{event_type}", False
        checks = [
            MetricType(metric_type).value if metric_type is not None else "",
            domain if domain is not None else "",
            "1" if typed else "0",
        ]
        # Every key a script names is the tenant's (one Cluster slot), even when unused.
        commands = [
            self._script(
                "newest",
                [f"{base}:{index}", base, f"{base}:et:{event_type or ''}"],
                [low, high, limit, valued, *checks],
            )
            for base in map(self._base, tenants)
        ]

        def build(replies: list[Any]) -> list[OutcomeEvent]:
            rows = [
                (reply[i], float(reply[i + 1]), reply[i + 2])
                for reply in replies
                for i in range(0, len(reply), 3)
            ]
            if len(replies) > 1:
                rows = heapq.nlargest(limit, rows, key=lambda row: _order(row[:2]))
            return [_event(raw) for _, _, raw in rows[:limit]]

        return (commands if limit > 0 else []), build

    def _tails(
        self, tenants: list[str], domain: str | None, metrics: Sequence[MetricType], count: int
    ) -> _Plan:
        commands: list[Command] = [
            ("zrevrange", (f"{self._base(t)}:s:{_series(m, domain)}", 0, count - 1, True))
            for t in tenants
            for m in metrics
        ]

        def build(replies: list[Any]) -> dict[MetricType, list[float]]:
            if count <= 0:
                return {metric: [] for metric in metrics}
            found = iter(replies)
            rows: dict[MetricType, list[tuple[bytes, float]]] = {m: [] for m in metrics}
            for _ in tenants:
                for metric in metrics:
                    rows[metric].extend(next(found))
            tails = {}
            for metric, each in rows.items():
                if len(tenants) > 1:
                    each = heapq.nlargest(count, each, key=_order)
                tails[metric] = [_value_of(member) for member, _ in reversed(each)]
            return tails

        return (commands if count > 0 else []), build

    def _totals(
        self,
        tenants: list[str],
        domain: str | None,
        metrics: Sequence[MetricType],
        spans: Sequence[Span],
    ) -> _Plan:
        series = [_series(metric, domain) for metric in metrics]
        bounds = [time_key(moment) for span in spans for moment in span]
        args = [repr(SUCCESS_THRESHOLD), len(series), *series, *bounds]
        commands = [self._script("read_totals", [base], args) for base in map(self._base, tenants)]

        def build(replies: list[Any]) -> dict[MetricType, list[RangeTotals]]:
            sums = {metric: [[0, 0, 0] for _ in spans] for metric in metrics}
            for reply in replies:  # a tenant's: series-major, one text per span
                texts = iter(reply)
                for metric in metrics:
                    for total in sums[metric]:
                        count, exact, successes = _bucket_totals(next(texts))
                        total[0] += count
                        total[1] += exact
                        total[2] += successes
            return {metric: [RangeTotals(*total) for total in sums[metric]] for metric in metrics}

        return commands, build

    def _summary(self, tenants: list[str], domain: str | None, top_failure_modes: int) -> _Plan:
        suffix = "c" if domain is None else f"c:{domain}"
        commands: list[Command] = [("hgetall", (f"{self._base(t)}:{suffix}",)) for t in tenants]

        def build(replies: list[Any]) -> tuple[OutcomeSummary, list[FailureMode]]:
            tally = Tally()  # the same counts the memory backend keeps, read from the hashes
            counters = {
                "d": tally.domains,
                "e": tally.event_types,
                "m": tally.metrics,
                "f": tally.failure_modes,
            }
            for reply in replies:
                for field, raw in reply.items():
                    name, count = text_of(field), int(raw)
                    if name == "total":
                        tally.total += count
                    else:
                        kind, _, text = name.partition(":")
                        counters[kind][text] += count
            return summarize(tally, top_failure_modes)

        return commands, build

    def newest_occurred_at(self) -> datetime | None:
        # Read from every tenant's timeline (no global key for writes to keep up to date).
        tenants = self._tenants(None)
        replies = self._run([("zrevrange", (f"{self._base(t)}:t", 0, 0, True)) for t in tenants])
        newest = max((int(found[0][1]) for found in replies if found), default=None)
        return _moment(newest) if newest is not None else None

    def count(self, *, tenant_id: str | None) -> int:
        replies = self._run(
            [("hget", (f"{self._base(t)}:u", "count")) for t in self._tenants(tenant_id)]
        )
        return sum(int(raw or 0) for raw in replies)

    def usage(self, tenant_id: str) -> tuple[int, int]:
        count, used = self._redis.hmget(f"{self._base(tenant_id)}:u", "count", "bytes")
        return int(count or 0), int(used or 0)
