"""Bounded memory: the per-tenant cap evicts finished requests first, never live ones."""

from __future__ import annotations

import pytest

from agent33_core.registry import services

from .conftest import REQUESTS_URL, create_tts


@pytest.fixture
def cap_of_three(settings):
    settings.MULTIMODAL_MAX_REQUESTS_PER_TENANT = 3
    services.reset_all()


def ids(client) -> list[str]:
    return [r["id"] for r in client.get(REQUESTS_URL, {"limit": 500}).json()]


def test_oldest_finished_request_is_evicted_with_its_result(writer, cap_of_three):
    done = create_tts(writer, execute_now=True).json()
    artifact_id = writer.get(f"{REQUESTS_URL}/{done['id']}/result").json()["output_artifact_id"]
    live = [create_tts(writer).json()["id"] for _ in range(2)]
    newest = create_tts(writer).json()["id"]

    assert ids(writer) == [newest, *live[::-1]]
    assert writer.get(f"{REQUESTS_URL}/{done['id']}").status_code == 404
    assert writer.get(f"{REQUESTS_URL}/{done['id']}/result").status_code == 404
    reuse = writer.post(
        REQUESTS_URL,
        {"modality": "speech_to_text", "input_artifact_id": artifact_id, "execute_now": False},
        format="json",
    )
    assert reuse.status_code == 400  # the output artifact went with its request
    assert reuse.json()["code"] == "invalid"


def test_finished_requests_go_before_older_live_ones(writer, cap_of_three):
    live = create_tts(writer).json()["id"]
    cancelled = create_tts(writer).json()["id"]
    writer.post(f"{REQUESTS_URL}/{cancelled}/cancel")
    done = create_tts(writer, execute_now=True).json()["id"]
    newest = create_tts(writer).json()["id"]
    assert ids(writer) == [newest, done, live]


def test_a_tenant_full_of_live_requests_is_refused_not_evicted(writer, cap_of_three):
    live = [create_tts(writer).json()["id"] for _ in range(3)]
    response = create_tts(writer)
    assert response.status_code == 429
    assert response.json() == {
        "detail": "The tenant already has 3 live requests, the per-tenant cap "
        "(MULTIMODAL_MAX_REQUESTS_PER_TENANT); execute or cancel some first.",
        "code": "quota_exceeded",
    }
    assert ids(writer) == live[::-1]


def test_the_cap_is_per_tenant(writer, other_tenant, cap_of_three):
    mine = [create_tts(writer).json()["id"] for _ in range(3)]
    assert create_tts(other_tenant).status_code == 201
    assert ids(writer) == mine[::-1]


def test_evicting_a_request_drops_its_input_result_and_output_artifact(writer, cap_of_three):
    from multimodal.services import get_multimodal_service

    stores = get_multimodal_service().stores
    for _ in range(6):
        done = create_tts(writer, execute_now=True).json()
        assert done["state"] == "completed"
    kept = ids(writer)
    assert len(kept) == 3
    # Each kept TTS request holds one result and one output artifact; the evicted hold none.
    assert (len(stores.results), len(stores.artifacts), len(stores.inputs)) == (3, 3, 0)
