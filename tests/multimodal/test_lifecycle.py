"""Every lifecycle edge over HTTP: atomic execute, timeouts, cancel while processing."""

from __future__ import annotations

import threading

import pytest

from agent33_core.registry import services
from tests.conftest import bearer_client

from . import fake_adapters
from .conftest import READ, REQUESTS_URL, WRITE, create, create_tts, create_vision

FAKES = "tests.multimodal.fake_adapters"


def url(request_id: str, suffix: str = "") -> str:
    return f"{REQUESTS_URL}/{request_id}" + (f"/{suffix}" if suffix else "")


@pytest.fixture
def vision_adapter(settings):
    """Point vision_analysis at one of the fake adapters and rebuild the service."""

    def use(name: str) -> None:
        settings.MULTIMODAL_ADAPTERS = {
            **settings.MULTIMODAL_ADAPTERS,
            "vision_analysis": f"{FAKES}.{name}",
        }
        services.reset_all()

    return use


def test_pending_to_processing_to_completed_via_execute(writer):
    created = create_tts(writer).json()
    response = writer.post(url(created["id"], "execute"))
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "completed"
    assert body["result_id"].startswith("mmres-")
    assert body["error_message"] == ""
    assert body["updated_at"] >= created["updated_at"]


def test_pending_to_cancelled(writer):
    created = create_tts(writer).json()
    response = writer.post(url(created["id"], "cancel"))
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert response.json()["result_id"] == ""


@pytest.mark.parametrize("action", ["execute", "cancel"])
def test_nothing_leaves_completed(writer, action):
    created = create_tts(writer, execute_now=True).json()
    response = writer.post(url(created["id"], action))
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Cannot {action} a request in state 'completed'.",
        "code": "invalid_transition",
    }


@pytest.mark.parametrize("action", ["execute", "cancel"])
def test_nothing_leaves_cancelled(writer, action):
    created = create_tts(writer).json()
    writer.post(url(created["id"], "cancel"))
    response = writer.post(url(created["id"], action))
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Cannot {action} a request in state 'cancelled'.",
        "code": "invalid_transition",
    }


def test_failed_request_cannot_be_cancelled(writer):
    failed = create_vision(writer, b"this is not an image", execute_now=True).json()
    assert failed["state"] == "failed"
    response = writer.post(url(failed["id"], "cancel"))
    assert response.status_code == 409
    assert response.json()["detail"] == "Cannot cancel a request in state 'failed'."


def test_non_image_fails_with_clear_message_and_a_failed_result(writer):
    failed = create_vision(writer, b"this is not an image", execute_now=True).json()
    assert failed["state"] == "failed"
    assert failed["error_message"] == "Artifact is not a readable image."
    result = writer.get(url(failed["id"], "result"))
    assert result.status_code == 200
    assert result.json()["state"] == "failed"
    assert result.json()["id"] == failed["result_id"]
    assert result.json()["metadata"]["error"] == "Artifact is not a readable image."


def test_result_is_404_while_no_result_exists(writer):
    created = create_tts(writer).json()
    response = writer.get(url(created["id"], "result"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_retry_from_failed_goes_through_processing_to_completed(writer, vision_adapter):
    vision_adapter("FlakyAdapter")
    failed = create_vision(writer, execute_now=True).json()
    assert failed["state"] == "failed"
    assert failed["error_message"] == "Flaky provider: first attempt fails."
    first_result_id = failed["result_id"]

    retried = writer.post(url(failed["id"], "execute"))
    assert retried.status_code == 200
    body = retried.json()
    assert body["state"] == "completed"
    assert body["error_message"] == ""
    assert body["result_id"] != first_result_id
    result = writer.get(url(failed["id"], "result")).json()
    assert result["state"] == "completed"
    assert result["output_text"] == "second time lucky"
    assert result["metadata"]["attempt"] == 2


def test_adapter_crash_fails_the_request_not_the_server(writer, vision_adapter):
    vision_adapter("CrashingAdapter")
    response = create_vision(writer, execute_now=True)
    assert response.status_code == 201
    assert response.json()["state"] == "failed"
    assert "ZeroDivisionError" in response.json()["error_message"]


def test_slow_adapter_times_out_and_fails(writer, vision_adapter):
    vision_adapter("SleepyAdapter")
    response = create_vision(writer, requested_timeout_seconds=1, execute_now=True)
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "failed"
    assert "timed out" in body["error_message"]
    result = writer.get(url(body["id"], "result")).json()
    assert result["state"] == "failed"
    assert "timed out" in result["metadata"]["error"]


def test_ten_concurrent_executes_run_the_request_once(writer):
    created = create_tts(writer).json()
    clients = [bearer_client([READ, WRITE], tenant="tenant-a") for _ in range(10)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    bodies: list[dict] = []
    lock = threading.Lock()

    def execute(client) -> None:
        barrier.wait()
        response = client.post(url(created["id"], "execute"))
        with lock:
            statuses.append(response.status_code)
            bodies.append(response.json())

    threads = [threading.Thread(target=execute, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [409] * 9
    refused = [b for b in bodies if b.get("code") == "invalid_transition"]
    assert len(refused) == 9
    assert all(
        b["detail"]
        in {
            "Cannot execute a request in state 'processing'.",
            "Cannot execute a request in state 'completed'.",
        }
        for b in refused
    )
    winner = next(b for b in bodies if "state" in b)
    assert winner["state"] == "completed"
    result = writer.get(url(created["id"], "result")).json()
    assert result["id"] == winner["result_id"]
    assert result["metadata"]["attempt"] == 1


def test_execute_while_processing_is_409(writer, vision_adapter):
    vision_adapter("GatedAdapter")
    created = create_vision(writer).json()
    runner = threading.Thread(target=lambda: writer.post(url(created["id"], "execute")))
    runner.start()
    try:
        assert fake_adapters.wait_until_started()
        second = bearer_client([WRITE], tenant="tenant-a").post(url(created["id"], "execute"))
        assert second.status_code == 409
        assert second.json()["detail"] == "Cannot execute a request in state 'processing'."
    finally:
        fake_adapters.release_gate()
        runner.join()
    assert writer.get(url(created["id"])).json()["state"] == "completed"


def test_cancel_while_processing_wins_and_the_late_output_is_dropped(writer, vision_adapter):
    vision_adapter("GatedAdapter")
    created = create_vision(writer).json()
    outcome: dict = {}

    def execute() -> None:
        client = bearer_client([READ, WRITE], tenant="tenant-a")
        response = client.post(url(created["id"], "execute"))
        outcome["status"], outcome["body"] = response.status_code, response.json()

    runner = threading.Thread(target=execute)
    runner.start()
    try:
        assert fake_adapters.wait_until_started()
        assert writer.get(url(created["id"])).json()["state"] == "processing"
        cancelled = bearer_client([WRITE], tenant="tenant-a").post(url(created["id"], "cancel"))
        assert cancelled.status_code == 200
        assert cancelled.json()["state"] == "cancelled"
    finally:
        fake_adapters.release_gate()
        runner.join()

    assert outcome["status"] == 200
    assert outcome["body"]["state"] == "cancelled"
    record = writer.get(url(created["id"])).json()
    assert record["state"] == "cancelled"
    assert record["result_id"] == ""
    assert writer.get(url(created["id"], "result")).status_code == 404


def test_execute_now_false_then_list_shows_pending(writer):
    create(writer, modality="text_to_speech", input_text="later")
    listed = writer.get(REQUESTS_URL, {"state": "pending"}).json()
    assert [r["state"] for r in listed] == ["pending"]


def test_claimed_request_is_processing_until_cancelled(writer):
    from multimodal.services import get_multimodal_service

    created = writer.post(
        "/v1/multimodal/requests",
        {"modality": "text_to_speech", "input_text": "hi", "execute_now": False},
        format="json",
    ).json()
    claimed = get_multimodal_service().claim(tenant_id="tenant-a", request_id=created["id"])
    assert claimed.state == "processing"
    again = writer.post(f"/v1/multimodal/requests/{created['id']}/execute")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    cancelled = writer.post(f"/v1/multimodal/requests/{created['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"


def test_a_run_cancelled_midway_leaves_no_stored_output(writer, vision_adapter):
    from multimodal.services import get_multimodal_service

    vision_adapter("GatedAdapter")
    created = create_vision(writer).json()
    runner = threading.Thread(target=lambda: writer.post(url(created["id"], "execute")))
    runner.start()
    try:
        assert fake_adapters.wait_until_started()
        assert writer.post(url(created["id"], "cancel")).status_code == 200
    finally:
        fake_adapters.release_gate()
        runner.join()
    stores = get_multimodal_service().stores
    assert (len(stores.results), len(stores.artifacts), len(stores.inputs)) == (0, 0, 1)
    assert writer.get(url(created["id"], "result")).status_code == 404
