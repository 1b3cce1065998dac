"""The hub builds only what it returns: sources hand it pages of their own records, it
merges them newest first and converts just the `limit` it shows into entries.

Each registered source is wrapped in a counting source (the real source underneath,
registered under the same type, include key and id prefix) that counts `to_entry` calls.
"""

from __future__ import annotations

from typing import Any

import pytest

from operations.registry import ProcessEntry, ProcessSource, register_source, registry
from tests.operations.helpers import (
    control,
    create_budget,
    create_intake,
    create_multimodal_request,
    create_run,
    create_trace,
    hub,
)

PER_SOURCE = 50


class CountingSource:
    """A real source, counting the records it converts into hub entries."""

    def __init__(self, source: ProcessSource) -> None:
        self._source = source
        self.converted = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def to_entry(self, record: Any) -> ProcessEntry:
        self.converted += 1
        return self._source.to_entry(record)


@pytest.fixture
def counting(monkeypatch) -> dict[str, CountingSource]:
    """Every registered source wrapped for one test (the registry's indexes restored after)."""
    for index in ("_by_type", "_by_include", "_by_prefix"):
        monkeypatch.setattr(registry, index, dict(getattr(registry, index)))
    wrapped = {source.process_type: CountingSource(source) for source in registry}
    for source in wrapped.values():
        register_source(source)
    return wrapped


def _seed_live_rounds(client, rounds: int) -> list[dict]:
    """`rounds` live processes of each of the five types, created round-robin (so their
    start times interleave across sources); each as `(id, type, started_at)`."""
    created = []
    for i in range(rounds):
        for process_type, body in (
            ("trace", create_trace(client, f"task-{i}")),
            ("autonomy_budget", create_budget(client, f"budget-{i}", state="active")),
            ("improvement_intake", create_intake(client, f"idea {i}", analyzing=True)),
            ("workflow", create_run(client, f"wf-{i}")),
            ("multimodal_request", create_multimodal_request(client)),
        ):
            started_at = body[
                "created_at" if process_type == "multimodal_request" else "started_at"
            ]
            created.append({"id": body["id"], "type": process_type, "started_at": started_at})
    return created


def _count_from_zero(counting: dict[str, CountingSource]) -> None:
    """Count only what the hub converts from here on (writes may convert records too)."""
    for source in counting.values():
        source.converted = 0


def _newest(created: list[dict], limit: int) -> list[str]:
    """Contract §5's order: `started_at` newest first, ties broken by id (also newest first)."""
    ordered = sorted(created, key=lambda p: (p["started_at"], p["id"]), reverse=True)
    return [p["id"] for p in ordered[:limit]]


def test_the_hub_converts_only_the_limit_it_returns_newest_across_sources(t1, counting):
    created = _seed_live_rounds(t1, PER_SOURCE)
    _count_from_zero(counting)
    response = t1.get("/v1/operations/hub?limit=10")
    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {process_type: PER_SOURCE for process_type in counting}
    assert body["active_count"] == 5 * PER_SOURCE
    # The newest ten are the last two rounds, every source in each, newest first.
    assert [p["id"] for p in body["processes"]] == _newest(created, 10)
    assert [p["id"] for p in body["processes"]] == [p["id"] for p in reversed(created[-10:])]
    assert [p["type"] for p in body["processes"]] == [
        "multimodal_request",
        "workflow",
        "improvement_intake",
        "autonomy_budget",
        "trace",
    ] * 2
    assert {p["tenant_id"] for p in body["processes"]} == {"t1"}
    assert {t: s.converted for t, s in counting.items()} == {t: 2 for t in counting}


def test_a_status_view_converts_only_its_limit_too(t1, counting):
    created = _seed_live_rounds(t1, 3)
    _count_from_zero(counting)
    body = hub(t1, "?status=running&limit=4")  # traces and workflow runs are running
    running = [p for p in created if p["type"] in ("trace", "workflow")]
    assert body["counts"] == {
        "autonomy_budget": 0,
        "improvement_intake": 0,
        "multimodal_request": 0,
        "trace": 3,
        "workflow": 3,
    }
    assert [p["id"] for p in body["processes"]] == _newest(running, 4)
    assert sum(source.converted for source in counting.values()) == 4


def test_hub_entries_are_exactly_what_validated_entries_would_write(t1, counting):
    _seed_live_rounds(t1, 1)
    response = t1.get("/v1/operations/hub")
    assert response.status_code == 200
    processes = response.json()["processes"]
    assert len(processes) == 5
    for process in processes:
        # Built without a second validation, an entry still writes what validation would.
        assert ProcessEntry.model_validate(process).model_dump(mode="json") == process
        assert set(process["metadata"]) >= {"tenant_id"}
    values = {
        "id": "trace-0123456789abcdef",
        "type": "trace",
        "status": "running",
        "started_at": processes[0]["started_at"],
        "name": "task",
        "tenant_id": "t1",
        "metadata": {"tenant_id": "t1"},
    }
    validated = ProcessEntry(**values)
    trusted = ProcessEntry.trusted(**{**values, "started_at": validated.started_at})
    assert trusted == validated
    assert trusted.model_dump_json() == validated.model_dump_json()
    assert trusted.model_fields_set == validated.model_fields_set
    assert trusted.model_copy(update={"status": "cancelled"}).status == "cancelled"


def test_a_record_shown_again_is_not_converted_again(t1, counting, state_backend):
    _seed_live_rounds(t1, 4)
    _count_from_zero(counting)
    first = hub(t1, "?limit=10")
    converted = {kind: source.converted for kind, source in counting.items()}
    assert sum(converted.values()) == 10
    second = hub(t1, "?limit=10")
    # The same stored records: their entries' JSON is reused, byte for byte. On Redis a
    # multimodal request is read afresh on every view (its lease may have run out), so its
    # entry is converted again; every other entry is known by its stored text.
    again = {kind: source.converted - converted[kind] for kind, source in counting.items()}
    shown_multimodal = sum(p["type"] == "multimodal_request" for p in first["processes"])
    assert shown_multimodal == 2
    expected = shown_multimodal if state_backend == "redis" else 0
    assert again == {**dict.fromkeys(again, 0), "multimodal_request": expected}
    assert second["processes"] == first["processes"]


def test_a_changed_record_is_shown_changed(t1, counting):
    budget = create_budget(t1, "budget-to-pause", state="active")
    assert [p["status"] for p in hub(t1)["processes"]] == ["active"]
    paused = control(t1, budget["id"], "pause")
    assert paused.status_code == 200, paused.json()
    assert paused.json()["status"] == "suspended"
    shown = hub(t1)["processes"]
    assert [(p["id"], p["status"]) for p in shown] == [(budget["id"], "suspended")]


def test_the_api_hub_writes_what_the_console_hub_model_writes(t1):
    from operations.services import get_operations_service

    _seed_live_rounds(t1, 3)
    response = t1.get("/v1/operations/hub?limit=7")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    model = get_operations_service().snapshot(
        tenant_id="t1", include=None, since=None, status=None, limit=7
    )
    expected = model.model_dump(mode="json")
    assert list(body) == ["timestamp", "active_count", "counts", "processes"]
    assert {**body, "timestamp": None} == {**expected, "timestamp": None}


def test_the_kept_entry_json_is_bounded_in_bytes_whatever_the_entries_size(t1, monkeypatch):
    import operations.services as hub_services
    from agent33_core.registry import services

    monkeypatch.setattr(hub_services, "ENTRY_JSON_CACHE_BYTES", 40_000)
    services.reset_all()
    summary = "é" * 8000  # the longest summary: about 16 KB of JSON per entry
    created = []
    for n in range(12):
        response = t1.post(
            "/v1/improvements/intakes/", {"title": f"t{n}", "summary": summary}, format="json"
        )
        assert response.status_code == 201, response.content
        created.append(response.json()["id"])
    for _ in range(2):
        body = hub(t1, "?status=submitted&limit=20")
        assert [p["id"] for p in body["processes"]] == created[::-1]
        assert {p["metadata"]["summary"] for p in body["processes"]} == {summary}
    held = hub_services.get_operations_service()._entry_json.bytes_held
    assert 0 < held <= 40_000
