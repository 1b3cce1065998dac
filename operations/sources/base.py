"""What the four sources share: a locked, indexed service base and its `ProcessSource`.

A source service declares its lifecycle as data (`lifecycle`, `live_statuses`,
`controls`: action -> {from_status: to_status}), what `create` builds (`record_model`
in `initial_status`) and how a record becomes a hub entry (`to_entry`). Every
read-check-write holds the service's one lock, so a hub control and a source
transition on the same record never interleave.

Memory (contract §1, §5): per tenant, each source keeps at most
`OPERATIONS_MAX_RECORDS_PER_TENANT` records and `OPERATIONS_MAX_BYTES_PER_TENANT`
estimated bytes (see `store.py`); a record's nested list (a trace's actions, a run's
events) holds at most `OPERATIONS_MAX_ACTIONS_PER_TRACE` items. A record's bytes are
its compact JSON size plus a fixed per-object allowance for Python's own overhead.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar
from uuid import uuid4

from django.conf import settings
from pydantic import BaseModel

from agent33_core.fields import json_size
from operations.domain import (
    InvalidTransition,
    ProcessNotFound,
    UnsupportedAction,
    shown,
    transition,
)
from operations.registry import AppliedControl, ProcessEntry, ProcessPage, StepActivity

from .store import RecordStore

R = TypeVar("R", bound=BaseModel)

DEFAULT_MAX_RECORDS_PER_TENANT = 10_000
DEFAULT_MAX_BYTES_PER_TENANT = 16 * 1024 * 1024
DEFAULT_MAX_ACTIONS_PER_TRACE = 1_000
# What Python holds beyond the JSON text: the model object, its dict, index entries.
RECORD_OVERHEAD_BYTES = 2048
ITEM_OVERHEAD_BYTES = 1024


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:16]}"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_records_per_tenant() -> int:
    """Records per tenant per source (live and finished together)."""
    return _setting("OPERATIONS_MAX_RECORDS_PER_TENANT", DEFAULT_MAX_RECORDS_PER_TENANT)


def max_bytes_per_tenant() -> int:
    return _setting("OPERATIONS_MAX_BYTES_PER_TENANT", DEFAULT_MAX_BYTES_PER_TENANT)


def max_items_per_record() -> int:
    """Actions per trace, and events per workflow run."""
    return _setting("OPERATIONS_MAX_ACTIONS_PER_TRACE", DEFAULT_MAX_ACTIONS_PER_TRACE)


def item_bytes(item: BaseModel) -> int:
    """Estimated bytes one nested item (a trace action, a step event) adds to its record."""
    return json_size(item.model_dump(mode="json")) + 1 + ITEM_OVERHEAD_BYTES


class LifecycleService(Generic[R]):
    """State of one source behind one lock; tenant_id=None is an operator (every tenant)."""

    noun: ClassVar[str]  # "trace", used in error messages
    id_prefix: ClassVar[str]
    process_type: ClassVar[str]  # the hub's `type` of these records
    name_field: ClassVar[str]  # the record field the hub shows as `name`
    record_model: type[R]  # what `create` builds
    status_field: ClassVar[str] = "status"
    initial_status: ClassVar[str | None] = None  # None: the creator's fields carry it
    lifecycle: ClassVar[Mapping[str, frozenset[str]]]
    live_statuses: ClassVar[frozenset[str]]
    controls: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    # A nested list the record grows (a trace's actions): lists show its length instead.
    nested_field: ClassVar[str | None] = None
    nested_count_field: ClassVar[str | None] = None  # "action_count"

    def __init__(
        self,
        *,
        max_records_per_tenant: int = DEFAULT_MAX_RECORDS_PER_TENANT,
        max_bytes_per_tenant: int = DEFAULT_MAX_BYTES_PER_TENANT,
        max_items_per_record: int = DEFAULT_MAX_ACTIONS_PER_TRACE,
    ) -> None:
        self._lock = threading.Lock()
        self._max_items = max_items_per_record
        self._store: RecordStore[R] = RecordStore(
            status_of=self.status_of,
            size_of=self.record_bytes,
            live_statuses=self.live_statuses,
            max_records_per_tenant=max_records_per_tenant,
            max_bytes_per_tenant=max_bytes_per_tenant,
            noun=self.noun,
        )

    @classmethod
    def from_settings(cls) -> Self:
        return cls(
            max_records_per_tenant=max_records_per_tenant(),
            max_bytes_per_tenant=max_bytes_per_tenant(),
            max_items_per_record=max_items_per_record(),
        )

    # --- records -----------------------------------------------------------------

    def status_of(self, record: R) -> str:
        return getattr(record, self.status_field)

    def _base_bytes(self, record: R) -> int:
        """Estimated bytes of the record without its nested list."""
        exclude = {self.nested_field} if self.nested_field else None
        return json_size(record.model_dump(mode="json", exclude=exclude)) + RECORD_OVERHEAD_BYTES

    def record_bytes(self, record: R) -> int:
        """Estimated bytes of the whole record (what the per-tenant byte cap counts)."""
        nested = getattr(record, self.nested_field) if self.nested_field else ()
        return self._base_bytes(record) + sum(item_bytes(item) for item in nested)

    def _visible(self, record_id: str, tenant_id: str | None) -> R:
        record = self._store.get(record_id)
        if record is None or (tenant_id is not None and record.tenant_id != tenant_id):
            raise ProcessNotFound(f"No {self.noun} with id '{shown(record_id)}'.")
        return record

    def _append_item(self, record: R, item: BaseModel, **changes: Any) -> R:
        """Store `record` with `item` added to its nested list; the caller holds the lock.

        409 when the list is full, 429 when the tenant's store cannot make room.
        """
        assert self.nested_field is not None
        items = getattr(record, self.nested_field)
        if len(items) >= self._max_items:
            raise InvalidTransition(
                f"A {self.noun} holds at most {self._max_items} {self.nested_field}."
            )
        updated = record.model_copy(update={self.nested_field: [*items, item], **changes})
        # Incremental: re-measuring every item would make each append cost the whole list.
        size = (
            self._store.size_of(record.id)
            - self._base_bytes(record)
            + self._base_bytes(updated)
            + item_bytes(item)
        )
        self._store.put(updated, size=size)
        return updated

    def _sized_put(self, updated: R, previous: R, *, may_refuse: bool) -> None:
        """Store a new version whose nested list is unchanged (no re-measuring of it)."""
        size = (
            self._store.size_of(previous.id)
            - self._base_bytes(previous)
            + self._base_bytes(updated)
        )
        self._store.put(updated, size=size, may_refuse=may_refuse)

    def _insert(self, record: R) -> R:
        with self._lock:
            self._store.put(record)
        return record

    def create(
        self, *, tenant_id: str, fields: dict[str, Any], started_at: datetime | None = None
    ) -> R:
        """A new record in `initial_status`, started at `started_at` (default now)."""
        now = utc_now()
        defaults: dict[str, Any] = {
            "id": new_id(self.id_prefix),
            "tenant_id": tenant_id,
            "started_at": started_at or now,
            "created_at": now,
            "updated_at": now,
        }
        if self.initial_status is not None:
            defaults[self.status_field] = self.initial_status
        return self._insert(self.record_model(**defaults, **fields))

    def get(self, *, tenant_id: str | None, record_id: str) -> R:
        with self._lock:
            return self._visible(record_id, tenant_id)

    def list(self, *, tenant_id: str | None, status: str | None, limit: int) -> list[R]:
        """Newest `started_at` first."""
        with self._lock:
            return self._store.newest(tenant_id=tenant_id, status=status, limit=limit)

    def list_item(self, record: R) -> dict[str, Any]:
        """The record as a list shows it: its nested list replaced by the list's length."""
        if self.nested_field is None:
            return record.model_dump()
        return self._counted(record, record.model_dump(exclude={self.nested_field}))

    def detail_item(self, record: R) -> dict[str, Any]:
        """The whole record (a detail, a create or a transition), with the list's length."""
        if self.nested_field is None:
            return record.model_dump()
        return self._counted(record, record.model_dump())

    def _counted(self, record: R, item: dict[str, Any]) -> dict[str, Any]:
        assert self.nested_field is not None and self.nested_count_field is not None
        item[self.nested_count_field] = len(getattr(record, self.nested_field))
        return item

    def _change_status(self, record: R, target: str, **changes: Any) -> R:
        """Check the lifecycle and store the new version; the caller holds the lock."""
        current = self.status_of(record)
        transition(self.lifecycle, noun=self.noun, current=current, target=target)
        # model_copy does not validate: keep the field's enum type.
        updated = record.model_copy(
            update={self.status_field: type(current)(target), "updated_at": utc_now(), **changes}
        )
        # Finishing is never refused (it is what frees room); growing a live record may be.
        self._sized_put(updated, record, may_refuse=target in self.live_statuses)
        return updated

    def transition(
        self, *, tenant_id: str | None, record_id: str, target: str, **changes: Any
    ) -> R:
        with self._lock:
            return self._change_status(self._visible(record_id, tenant_id), target, **changes)

    # --- what the hub reads --------------------------------------------------------

    def to_entry(self, record: R) -> ProcessEntry:
        """The record as a hub entry; `name` falls back to the id when the field is blank.

        `metadata` carries `tenant_id` too, as AGENT33's entries do.
        """
        return ProcessEntry(
            id=record.id,
            type=self.process_type,
            status=self.status_of(record),
            started_at=record.started_at,
            name=getattr(record, self.name_field) or record.id,
            tenant_id=record.tenant_id,
            metadata={**self.entry_metadata(record), "tenant_id": record.tenant_id},
        )

    def entry_metadata(self, record: R) -> dict[str, Any]:
        """What the hub shows of this source's own fields."""
        raise NotImplementedError

    def live_records(self, *, tenant_id: str | None, since: datetime) -> list[R]:
        """The default hub view: records in a live state, whenever they started."""
        with self._lock:
            return self._store.live(tenant_id=tenant_id)

    def count_with_status(self, *, tenant_id: str | None, status: str) -> int:
        with self._lock:
            return self._store.count(tenant_id=tenant_id, status=status)

    def step_activity(self, *, tenant_id: str | None, process_id: str) -> list[StepActivity]:
        return []

    def allowed_controls(self, status: str) -> list[str]:
        return [action for action, moves in self.controls.items() if status in moves]

    def apply_control(self, *, tenant_id: str | None, record_id: str, action: str) -> tuple[str, R]:
        """(previous status, updated record); one lock over check and write."""
        moves = self.controls.get(action)
        with self._lock:
            record = self._visible(record_id, tenant_id)
            if moves is None:
                raise UnsupportedAction(
                    f"A {self.noun} does not support the '{shown(action)}' control."
                )
            current = self.status_of(record)
            target = moves.get(current)
            if target is None:
                raise self._refused(action, current)
            return current, self._change_status(record, target)

    def _refused(self, action: str, current: str) -> Exception:
        return InvalidTransition(f"Cannot {shown(action)} a {self.noun} that is '{current}'.")


class ServiceBackedSource:
    """A `ProcessSource` that asks the current service singleton on every call.

    It looks the service up each time, so a test that resets the singleton needs no
    re-registration.
    """

    def __init__(
        self,
        *,
        process_type: str,
        include_key: str,
        id_prefix: str,
        get_service: Callable[[], LifecycleService],
    ) -> None:
        self.process_type = process_type
        self.include_key = include_key
        self.id_prefix = id_prefix
        self._get_service = get_service

    def live_page(self, *, tenant_id: str | None, since: datetime, limit: int) -> ProcessPage:
        """Only the newest `limit` live records become entries."""
        service = self._get_service()
        records = service.live_records(tenant_id=tenant_id, since=since)
        newest = heapq.nlargest(limit, records, key=lambda r: (r.started_at, r.id))
        return ProcessPage(len(records), [service.to_entry(record) for record in newest])

    def status_page(self, *, tenant_id: str | None, status: str, limit: int) -> ProcessPage:
        service = self._get_service()
        records = service.list(tenant_id=tenant_id, status=status, limit=limit)
        total = service.count_with_status(tenant_id=tenant_id, status=status)
        return ProcessPage(total, [service.to_entry(record) for record in records])

    def get_process(self, *, tenant_id: str | None, process_id: str) -> ProcessEntry | None:
        service = self._get_service()
        try:
            return service.to_entry(service.get(tenant_id=tenant_id, record_id=process_id))
        except ProcessNotFound:
            return None

    def step_activity(self, *, tenant_id: str | None, process_id: str) -> list[StepActivity]:
        return self._get_service().step_activity(tenant_id=tenant_id, process_id=process_id)

    def allowed_controls(self, entry: ProcessEntry) -> list[str]:
        return self._get_service().allowed_controls(entry.status)

    def supported_controls(self) -> frozenset[str]:
        return frozenset(self._get_service().controls)

    def apply_control(
        self, *, tenant_id: str | None, process_id: str, action: str, actor: str, reason: str
    ) -> AppliedControl:
        service = self._get_service()
        previous, record = service.apply_control(
            tenant_id=tenant_id, record_id=process_id, action=action
        )
        return AppliedControl(previous, service.to_entry(record))
