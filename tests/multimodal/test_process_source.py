"""The multimodal process source, read through the operations registry as the hub does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent33_core.errors import InvalidTransition, NotFound
from multimodal.process_source import MultimodalProcessSource
from operations.registry import ProcessSource, registry

from .conftest import REQUESTS_URL, create_tts, create_vision

LONG_AGO = datetime.now(UTC) - timedelta(days=365)


@pytest.fixture
def source() -> ProcessSource:
    found = registry.for_process_id("mmreq-0123456789abcdef")
    assert found is not None
    return found


def test_registry_routes_mmreq_ids_types_and_include_key_to_the_source(source):
    assert isinstance(source, MultimodalProcessSource)
    assert isinstance(source, ProcessSource)
    assert registry.by_type("multimodal_request") is source
    assert registry.by_include("multimodal") is source
    assert "multimodal" in registry.include_keys()


def test_live_processes_are_pending_and_processing_only(source, writer, other_tenant):
    pending = create_tts(writer).json()
    create_tts(writer, execute_now=True)  # completed: not live
    cancelled = create_tts(writer).json()
    writer.post(f"{REQUESTS_URL}/{cancelled['id']}/cancel")
    foreign = create_vision(other_tenant).json()

    page = source.live_page(tenant_id="tenant-a", since=datetime.now(UTC), limit=10)
    mine = [source.to_entry(record) for record in page.records]
    assert page.total == 1
    assert [(e.id, e.status, e.type, e.name, e.tenant_id) for e in mine] == [
        (pending["id"], "pending", "multimodal_request", "text_to_speech", "tenant-a")
    ]
    assert mine[0].started_at.isoformat().startswith(pending["created_at"][:19])
    assert mine[0].metadata == {
        "tenant_id": "tenant-a",
        "requested_by": "alice",
        "input_artifact_bytes": 0,
        "result_id": "",
        "error_message": "",
    }
    everyone = source.live_page(tenant_id=None, since=LONG_AGO, limit=10)
    assert everyone.total == 2
    assert [r.id for r in everyone.records] == [foreign["id"], pending["id"]]
    assert [source.sort_key(r) for r in everyone.records] == [
        (r.created_at, r.id) for r in everyone.records
    ]
    newest_only = source.live_page(tenant_id=None, since=LONG_AGO, limit=1)
    assert (newest_only.total, [r.id for r in newest_only.records]) == (2, [foreign["id"]])


def test_status_page_lists_that_status_newest_first_with_its_total(source, writer):
    first = create_tts(writer, execute_now=True).json()
    second = create_tts(writer, execute_now=True).json()
    create_tts(writer)
    page = source.status_page(tenant_id="tenant-a", status="completed", limit=10)
    completed = [source.to_entry(record) for record in page.records]
    assert page.total == 2
    assert [e.id for e in completed] == [second["id"], first["id"]]
    assert [e.metadata["result_id"] for e in completed] == [second["result_id"], first["result_id"]]
    capped = source.status_page(tenant_id=None, status="completed", limit=1)
    assert (capped.total, len(capped.records)) == (2, 1)
    none = source.status_page(tenant_id="tenant-b", status="completed", limit=10)
    assert (none.total, list(none.records)) == (0, [])
    running = source.status_page(tenant_id=None, status="running", limit=10)
    assert (running.total, list(running.records)) == (0, [])


def test_get_process_respects_tenancy(source, writer):
    created = create_tts(writer).json()
    assert source.get_process(tenant_id="tenant-a", process_id=created["id"]).id == created["id"]
    assert source.get_process(tenant_id=None, process_id=created["id"]).status == "pending"
    assert source.get_process(tenant_id="tenant-b", process_id=created["id"]) is None
    assert source.get_process(tenant_id=None, process_id="mmreq-ffffffffffffffff") is None


def test_the_source_describes_its_statuses_live_statuses_and_controls(source):
    assert source.statuses == ("pending", "processing", "completed", "failed", "cancelled")
    assert source.live_statuses == frozenset({"pending", "processing"})
    assert source.controls == {"cancel": {"pending": "cancelled", "processing": "cancelled"}}


def test_controls_are_cancel_while_live_only(writer, make_client):
    operator = make_client(["workflows:read"], sub="ops")
    pending = create_tts(writer).json()["id"]
    done = create_tts(writer, execute_now=True).json()["id"]
    assert operator.get(f"/v1/operations/processes/{pending}").json()["controls"] == ["cancel"]
    assert operator.get(f"/v1/operations/processes/{done}").json()["controls"] == []


def test_cancel_through_the_hub_is_the_api_cancel(source, writer):
    created = create_tts(writer).json()
    from_status, entry = source.apply_control(
        tenant_id="tenant-a", process_id=created["id"], action="cancel", actor="ops", reason="x"
    )
    assert (from_status, entry.status) == ("pending", "cancelled")
    record = writer.get(f"{REQUESTS_URL}/{created['id']}").json()
    assert record["state"] == "cancelled"
    again = writer.post(f"{REQUESTS_URL}/{created['id']}/cancel")
    assert again.status_code == 409
    live = source.live_page(tenant_id="tenant-a", since=LONG_AGO, limit=10)
    assert (live.total, list(live.records)) == (0, [])


def test_hub_cancel_of_a_finished_request_is_the_same_409(source, writer):
    done = create_tts(writer, execute_now=True).json()
    with pytest.raises(InvalidTransition) as refused:
        source.apply_control(
            tenant_id=None, process_id=done["id"], action="cancel", actor="ops", reason=""
        )
    assert refused.value.http_status == 409
    assert str(refused.value) == "Cannot cancel a request in state 'completed'."


def test_hub_cannot_cancel_another_tenants_request(source, writer):
    created = create_tts(writer).json()
    with pytest.raises(NotFound) as missing:
        source.apply_control(
            tenant_id="tenant-b", process_id=created["id"], action="cancel", actor="b", reason=""
        )
    assert missing.value.http_status == 404
    assert writer.get(f"{REQUESTS_URL}/{created['id']}").json()["state"] == "pending"


def test_pause_is_unsupported(writer, make_client):
    created = create_tts(writer).json()
    operator = make_client(["workflows:read", "workflows:execute"], sub="ops")
    response = operator.post(
        f"/v1/operations/processes/{created['id']}/control", {"action": "pause"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "unsupported_action"
    assert writer.get(f"{REQUESTS_URL}/{created['id']}").json()["state"] == "pending"


def test_step_activity_counts_adapter_runs(source, writer):
    pending = create_tts(writer).json()
    assert source.step_activity(tenant_id=None, process_id=pending["id"]) == []
    done = create_tts(writer, execute_now=True).json()
    steps = source.step_activity(tenant_id="tenant-a", process_id=done["id"])
    assert [(s.step_id, s.action_count) for s in steps] == [("adapter", 1)]
    assert steps[0].completed_at is not None
    assert source.step_activity(tenant_id="tenant-b", process_id=done["id"]) == []


def test_hub_entries_carry_the_tenant_in_their_metadata(writer, make_client):
    created = create_tts(writer).json()
    operator = make_client(["workflows:read"], sub="ops")
    response = operator.get("/v1/operations/hub", {"include": "multimodal"})
    assert response.status_code == 200
    entries = response.json()["processes"]
    assert [(e["id"], e["tenant_id"], e["metadata"]["tenant_id"]) for e in entries] == [
        (created["id"], "tenant-a", "tenant-a")
    ]
    detail = operator.get(f"/v1/operations/processes/{created['id']}")
    assert detail.status_code == 200
    assert detail.json()["metadata"]["tenant_id"] == "tenant-a"
