"""The live operations stream's bus (contract §7): what every source publishes, what
`GET /v1/operations/stream` (`stream_views.py`) reads.

An event is `process.created`, `process.updated` (the status changed) or `control.applied`
(the hub applied a control); its `data` is the process entry exactly as the hub renders it
(§5; `control.applied` adds the applied control record under `control`). Sources publish with
one call (`publish`, `publish_moved`) after their write; a publish never fails the write it
follows (a Redis error is logged and the event is lost to the stream, not the write).

Every process keeps one in-process fan-out (`Fanout`): a bounded backlog of the newest
`OPERATIONS_STREAM_BACKLOG` events (default 10,000) and at most
`OPERATIONS_STREAM_BACKLOG_BYTES` (16 MiB) of them, behind one `Condition`. A subscriber is a
position in it: it sleeps on the condition (no CPU while idle) and, woken, takes the events
after its position, filtered for its tenant and `include`. A subscriber that falls more than
the backlog behind gets `event: reset`, as does a resume from an id older than the backlog.

Backends (`AGENT33_STATE_BACKEND`):
- `memory`: a publish appends to the fan-out; ids are `<boot ms>-<n>`, so an id from an
  earlier run of the server (another boot) is unknown and starts with a reset.
- `redis`: Redis Streams, chosen over pub/sub because a stream IS the bounded backlog every
  process shares: one script per write appends it and trims the stream to the backlog in
  events and bytes (Redis Streams trim by count only), its entry id is the
  SSE `id:`, so `Last-Event-ID` resumes on any process (`XRANGE` after that id), and an id
  older than the stream's first entry is detectably too old. Pub/sub would lose what was
  sent while a reader reconnects and would need a second structure for the backlog. ONE
  reader thread per process (started with the first subscriber, ended a second after the
  last leaves) blocks in `XREAD` and appends what it reads to the fan-out, so 500
  subscribers cost one Redis connection, not 500.

Under `manage.py serve` one writer thread per process sends every stream's events
(`stream_sockets.py`); elsewhere each stream's own thread does (`stream_views.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import pydantic_core
from django.conf import settings

from agent33_core import state
from agent33_core.registry import services

from .domain import ControlRecord
from .registry import ProcessEntry, registry

log = logging.getLogger(__name__)

CREATED = "process.created"
UPDATED = "process.updated"
CONTROL_APPLIED = "control.applied"
EVENTS = (CREATED, UPDATED, CONTROL_APPLIED)
RESET = "reset"
DEFAULT_BACKLOG = 10_000
# An entry can be ~33 KB (a long intake summary): events alone would not bound the memory.
DEFAULT_BACKLOG_BYTES = 16 * 1024 * 1024
# What holding one event costs beside its frame: the tuple, its id and texts, a deque slot.
EVENT_OVERHEAD_BYTES = 512
DEFAULT_HEARTBEAT_SECONDS = 15.0
DEFAULT_MAX_SUBSCRIBERS = 512
_READ_BLOCK_MS = 1000
_READ_COUNT = 1000


class StreamFull(Exception):
    """This server process already holds its `OPERATIONS_STREAM_MAX_SUBSCRIBERS`."""

    http_status = 503
    error_code = "stream_full"


class StreamControlEntry(ProcessEntry):
    """The `data` of `control.applied`: the entry after the control, and the control."""

    control: ControlRecord


class StreamEvent(NamedTuple):
    """One published event; `frame` is its whole SSE text, encoded once for every reader."""

    id: str
    event: str
    tenant_id: str
    include_key: str
    frame: bytes


def frame(event_id: str, event: str, data: bytes) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event_id.encode(), event.encode(), data)


def parse_id(event_id: str | None) -> tuple[int, int] | None:
    """`<ms>-<n>` (a Redis stream id) as a sortable pair; None when it is not one."""
    if not event_id or len(event_id) > 60:
        return None
    ms, sep, seq = event_id.partition("-")
    if not (sep and ms.isascii() and ms.isdigit() and seq.isascii() and seq.isdigit()):
        return None
    return int(ms), int(seq)


# --- the in-process fan-out -------------------------------------------------------------


class Fanout:
    """The newest events of this process, in order, and the subscribers' wake-up: at most
    `backlog` events and `max_bytes` of their frames (the newest one is always kept).

    A position counts every event ever appended; the deque holds positions
    `[total - len(events), total)`.
    """

    def __init__(self, backlog: int, max_bytes: int) -> None:
        self.condition = threading.Condition()
        self._events: deque[StreamEvent] = deque()
        self._backlog = max(1, backlog)
        self._max_bytes = max_bytes
        self.bytes = 0
        self.total = 0
        self.closed = False
        self.listeners: list[Callable[[], None]] = []  # told after each append (socket writer)

    def append(self, events: Iterable[StreamEvent]) -> None:
        with self.condition:
            before = self.total
            held = self._events
            for event in events:
                held.append(event)
                self.bytes += len(event.frame) + EVENT_OVERHEAD_BYTES
                self.total += 1
            while len(held) > 1 and (len(held) > self._backlog or self.bytes > self._max_bytes):
                self.bytes -= len(held.popleft().frame) + EVENT_OVERHEAD_BYTES
            if self.total != before:
                self.condition.notify_all()
                for listener in self.listeners:
                    listener()

    def first_position(self) -> int:
        return self.total - len(self._events)

    def after(self, position: int) -> list[StreamEvent] | None:
        """Events from `position` on (hold the condition); None when some were dropped."""
        first = self.first_position()
        if position < first:
            return None
        events = self._events
        start = position - first
        return [events[i] for i in range(start, len(events))]

    def close(self) -> None:
        with self.condition:
            self.closed = True
            self.condition.notify_all()
            for listener in self.listeners:
                listener()


class Subscription:
    """One subscriber: what to replay first, then the fan-out from `position` on."""

    def __init__(
        self,
        bus: StreamBus,
        *,
        position: int,
        replay: list[StreamEvent],
        reset: bool,
        skip_through: tuple[int, int] | None,
    ) -> None:
        self.bus = bus
        self.position = position
        self.replay = replay
        self.reset = reset
        self._skip_through = skip_through  # fan-out events already replayed (Redis)

    def wait(self, timeout: float) -> list[StreamEvent] | None:
        """New events (maybe [] after `timeout`); None when the stream must reset or end."""
        fanout = self.bus.fanout
        with fanout.condition:
            if fanout.total <= self.position and not fanout.closed:
                fanout.condition.wait(timeout)
            if fanout.closed:
                raise StreamClosed
            events = fanout.after(self.position)
            if events is None:  # fell more than the backlog behind: reset, then what is left
                self.position = fanout.first_position()
                return None
            self.position = fanout.total
        return self.fresh(events)

    def replaying(self) -> bool:
        """Some events may still be ones the replay sent (see `fresh`)."""
        return self._skip_through is not None

    def fresh(self, events: list[StreamEvent]) -> list[StreamEvent]:
        """`events` without those the replay already sent (Redis: read twice at the seam)."""
        skip = self._skip_through
        if skip is not None and events:
            events = [e for e in events if (parse_id(e.id) or (0, 0)) > skip]
            if events:
                self._skip_through = None  # past the replay: no more overlap
        return events

    def close(self) -> None:
        self.bus.leave()


class StreamClosed(Exception):
    """The server is stopping: every stream ends."""


class StreamBus:
    """Publishing and subscribing; the backends differ in where events travel."""

    def __init__(self, *, backlog: int, backlog_bytes: int, max_subscribers: int) -> None:
        self.backlog = max(1, backlog)
        self.backlog_bytes = max(1, backlog_bytes)
        self.max_subscribers = max_subscribers
        self.fanout = Fanout(self.backlog, self.backlog_bytes)
        self._lock = threading.Lock()
        self.subscribers = 0

    def publish(self, event: str, entry: ProcessEntry, include_key: str) -> None:
        raise NotImplementedError

    def open(self, last_event_id: str | None) -> Subscription:
        """A subscription (counted against `max_subscribers`: StreamFull when none is left)."""
        with self._lock:
            if self.subscribers >= self.max_subscribers:
                raise StreamFull(
                    f"This server holds its {self.max_subscribers} stream subscribers "
                    "(OPERATIONS_STREAM_MAX_SUBSCRIBERS); retry later."
                )
            self.subscribers += 1
        try:
            return self._subscribe(last_event_id)
        except BaseException:
            self.leave()
            raise

    def _subscribe(self, last_event_id: str | None) -> Subscription:
        raise NotImplementedError

    def leave(self) -> None:
        with self._lock:
            self.subscribers -= 1

    def close(self) -> None:
        """End every open stream of this process (the server is stopping)."""
        self.fanout.close()


class MemoryBus(StreamBus):
    def __init__(self, *, backlog: int, backlog_bytes: int, max_subscribers: int) -> None:
        super().__init__(
            backlog=backlog, backlog_bytes=backlog_bytes, max_subscribers=max_subscribers
        )
        self.boot = str(time.time_ns() // 1_000_000)

    def publish(self, event: str, entry: ProcessEntry, include_key: str) -> None:
        data = pydantic_core.to_json(entry)
        fanout = self.fanout
        with fanout.condition:  # ids in the order of the fan-out
            event_id = f"{self.boot}-{fanout.total + 1}"
            fanout.append(
                [
                    StreamEvent(
                        event_id, event, entry.tenant_id, include_key, frame(event_id, event, data)
                    )
                ]
            )

    def _subscribe(self, last_event_id: str | None) -> Subscription:
        fanout = self.fanout
        with fanout.condition:
            position = fanout.total
            if last_event_id is None:
                return Subscription(
                    self, position=position, replay=[], reset=False, skip_through=None
                )
            parsed = parse_id(last_event_id)
            # Event n sits at position n - 1 and must still be held; the resume reads from n.
            known = parsed is not None and str(parsed[0]) == self.boot
            resume = parsed[1] if known else -1
            if not fanout.first_position() < resume <= fanout.total:
                return Subscription(
                    self, position=position, replay=[], reset=True, skip_through=None
                )
            return Subscription(self, position=resume, replay=[], reset=False, skip_through=None)


# Append one event and trim the stream to the backlog, in events and in bytes of `data`
# (the newest is always kept), in one atomic step. KEYS: the stream, its byte count (one
# hash slot). ARGV: event, tenant, include, data, backlog, max bytes.
_PUBLISH = """
local stream, counted = KEYS[1], KEYS[2]
local size = string.len(ARGV[4])
local id = redis.call('XADD', stream, '*', 'event', ARGV[1], 'tenant', ARGV[2],
  'include', ARGV[3], 'data', ARGV[4])
local held = redis.call('INCRBY', counted, size)
local count = redis.call('XLEN', stream)
local backlog, max_bytes = tonumber(ARGV[5]), tonumber(ARGV[6])
while count > 1 and (count > backlog or held > max_bytes) do
  local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  local fields = oldest[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'data' then held = held - string.len(fields[i + 1]) end
  end
  redis.call('XDEL', stream, oldest[1])
  count = count - 1
end
redis.call('SET', counted, held)
return id
"""


class RedisBus(StreamBus):
    def __init__(self, *, backlog: int, backlog_bytes: int, max_subscribers: int) -> None:
        super().__init__(
            backlog=backlog, backlog_bytes=backlog_bytes, max_subscribers=max_subscribers
        )
        self.client = state.redis_client()
        # One hash slot for the stream and its byte count (the publish script uses both).
        self.key = f"{{{state.redis_prefix()}:operations-stream}}"
        self._bytes_key = f"{self.key}:bytes"
        self._publish = self.client.register_script(_PUBLISH)
        self._reader: threading.Thread | None = None

    def publish(self, event: str, entry: ProcessEntry, include_key: str) -> None:
        self._publish(
            keys=[self.key, self._bytes_key],
            args=[
                event,
                entry.tenant_id,
                include_key,
                pydantic_core.to_json(entry),
                self.backlog,
                self.backlog_bytes,
            ],
        )

    def _event(self, raw_id: bytes, fields: dict[bytes, bytes]) -> StreamEvent:
        event_id, event = raw_id.decode(), fields[b"event"].decode()
        return StreamEvent(
            event_id,
            event,
            fields[b"tenant"].decode(),
            fields[b"include"].decode(),
            frame(event_id, event, fields[b"data"]),
        )

    def _subscribe(self, last_event_id: str | None) -> Subscription:
        # Join the fan-out first, then read the backlog: nothing falls between the two.
        with self.fanout.condition:
            position = self.fanout.total
        self._ensure_reader()
        if last_event_id is None:
            return Subscription(self, position=position, replay=[], reset=False, skip_through=None)
        parsed = parse_id(last_event_id)
        if parsed is None:
            return Subscription(self, position=position, replay=[], reset=True, skip_through=None)
        pipe = self.client.pipeline(transaction=False)
        pipe.xinfo_stream(self.key)
        pipe.xrange(self.key, min=f"({parsed[0]}-{parsed[1]}", count=self.backlog)
        info, entries = pipe.execute(raise_on_error=False)
        if isinstance(info, Exception):  # no stream yet: every id is unknown
            return Subscription(self, position=position, replay=[], reset=True, skip_through=None)
        info = _pairs(info)
        newest = parse_id(_text(info.get("last-generated-id"))) or (0, 0)
        first = info.get("first-entry")
        oldest = (parse_id(_text(first[0])) if first else None) or newest
        # Resumable: the client's event is still in the backlog (else what followed it
        # may have been trimmed too), or it is not one this stream ever sent.
        if not oldest <= parsed <= newest or isinstance(entries, Exception):
            return Subscription(self, position=position, replay=[], reset=True, skip_through=None)
        replay = [self._event(raw_id, fields) for raw_id, fields in entries]
        skip = parse_id(replay[-1].id) if replay else parsed
        return Subscription(self, position=position, replay=replay, reset=False, skip_through=skip)

    def _ensure_reader(self) -> None:
        with self._lock:
            if self._reader is None or not self._reader.is_alive():
                start = self._newest_id()
                self._reader = threading.Thread(
                    target=self._read, args=(start,), name="operations-stream-reader", daemon=True
                )
                self._reader.start()

    def _newest_id(self) -> str:
        newest = self.client.xrevrange(self.key, count=1)
        return newest[0][0].decode() if newest else "0-0"

    def _read(self, last: str) -> None:
        """Append what `XREAD` brings to the fan-out while this process has subscribers."""
        while not self.fanout.closed:
            with self._lock:
                if self.subscribers == 0:
                    self._reader = None
                    return
            try:
                found = self.client.xread({self.key: last}, count=_READ_COUNT, block=_READ_BLOCK_MS)
            except Exception as exc:  # Redis away: try again, the backlog is in the stream
                log.warning("operations stream: XREAD failed (%s); retrying", exc)
                time.sleep(0.5)
                continue
            for _key, entries in found or ():
                if entries:
                    last = entries[-1][0].decode()
                    self.fanout.append(self._event(raw_id, fields) for raw_id, fields in entries)


def _pairs(info: Any) -> dict[str, Any]:
    if isinstance(info, dict):
        return {_text(k): v for k, v in info.items()}
    return {_text(info[i]): info[i + 1] for i in range(0, len(info) - 1, 2)}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


# --- settings and the process's bus ------------------------------------------------------


def backlog() -> int:
    return int(getattr(settings, "OPERATIONS_STREAM_BACKLOG", DEFAULT_BACKLOG))


def backlog_bytes() -> int:
    return int(getattr(settings, "OPERATIONS_STREAM_BACKLOG_BYTES", DEFAULT_BACKLOG_BYTES))


def heartbeat_seconds() -> float:
    return float(
        getattr(settings, "OPERATIONS_STREAM_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS)
    )


def max_subscribers() -> int:
    return int(getattr(settings, "OPERATIONS_STREAM_MAX_SUBSCRIBERS", DEFAULT_MAX_SUBSCRIBERS))


def _make_bus() -> StreamBus:
    bus_class = RedisBus if state.backend() == state.REDIS else MemoryBus
    return bus_class(
        backlog=backlog(), backlog_bytes=backlog_bytes(), max_subscribers=max_subscribers()
    )


stream_bus = services.register("operations.stream", _make_bus)


def get_stream_bus() -> StreamBus:
    return stream_bus.get()


def open_streams() -> int:
    """How many streams this process holds open now; builds no bus."""
    bus = stream_bus.built()
    return 0 if bus is None else bus.subscribers


def close_streams() -> None:
    """End every open stream of this process (its server is stopping); builds no bus."""
    bus = stream_bus.built()
    if bus is not None:
        bus.close()


# --- what the sources call ---------------------------------------------------------------


def publish(event: str, record: Any, *, control: ControlRecord | None = None) -> None:
    """Tell the stream about `record` (a source's record, or a hub entry) after its write.

    The record's source (found by its id prefix) renders the entry; a record of no
    registered source (the operations app alone, without that source) publishes nothing.
    """
    try:
        source = registry.for_process_id(record.id)
        if source is None:
            return
        entry = record if isinstance(record, ProcessEntry) else source.to_entry(record)
        if control is not None:
            entry = StreamControlEntry.model_construct(**dict(entry), control=control)
        get_stream_bus().publish(event, entry, source.include_key)
    except Exception:  # the write it follows succeeded: never turn it into an error
        log.warning("operations stream: could not publish %s", event, exc_info=True)


def publish_moved(status_before: Any, status_after: Any, record: Any) -> None:
    """`process.updated` for `record` when its status changed (else nothing)."""
    if str(status_before) != str(status_after):
        publish(UPDATED, record)
