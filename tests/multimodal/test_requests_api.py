"""The request endpoints over HTTP: shapes, status codes, scopes, tenancy, bad input."""

from __future__ import annotations

import base64

import pytest

from .conftest import (
    READ,
    REQUESTS_URL,
    WRITE,
    b64,
    create,
    create_tts,
    create_vision,
    image_bytes,
    wav_bytes,
)

RECORD_FIELDS = {
    "id",
    "tenant_id",
    "modality",
    "input_text",
    "input_artifact_id",
    "input_artifact_bytes",
    "requested_timeout_seconds",
    "requested_by",
    "state",
    "result_id",
    "error_message",
    "created_at",
    "updated_at",
}
RESULT_FIELDS = {
    "id",
    "request_id",
    "state",
    "output_text",
    "output_artifact_id",
    "output_data",
    "started_at",
    "completed_at",
    "metadata",
}


def url(request_id: str, suffix: str = "") -> str:
    return f"{REQUESTS_URL}/{request_id}" + (f"/{suffix}" if suffix else "")


# --- create -----------------------------------------------------------------------------


def test_create_without_execute_returns_pending_record_with_exact_fields(writer):
    response = create_tts(writer, text="hi there")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == RECORD_FIELDS
    assert body["id"].startswith("mmreq-") and len(body["id"]) >= 6 + 12
    assert body["tenant_id"] == "tenant-a"
    assert body["modality"] == "text_to_speech"
    assert body["input_text"] == "hi there"
    assert body["state"] == "pending"
    assert body["result_id"] == ""
    assert body["error_message"] == ""
    assert body["requested_by"] == "alice"
    assert body["requested_timeout_seconds"] == 60
    assert body["input_artifact_bytes"] == 0
    assert body["created_at"].endswith(("Z", "+00:00"))


def test_create_executes_by_default_and_returns_completed(writer):
    response = writer.post(
        REQUESTS_URL, {"modality": "text_to_speech", "input_text": "speak"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "completed"
    assert body["result_id"].startswith("mmres-")


def test_create_vision_never_echoes_the_artifact_and_counts_its_bytes(writer):
    png = image_bytes("PNG", (10, 20))
    response = create_vision(writer, png, requested_by="ci-bot", requested_timeout_seconds=5)
    assert response.status_code == 201
    body = response.json()
    assert "input_artifact_base64" not in body
    assert b64(png) not in response.content.decode()
    assert body["input_artifact_bytes"] == len(png)
    assert body["input_artifact_id"] == ""
    assert body["requested_by"] == "ci-bot"
    assert body["requested_timeout_seconds"] == 5


def test_create_works_with_and_without_trailing_slash(writer):
    body = {"modality": "text_to_speech", "input_text": "x", "execute_now": False}
    assert writer.post(REQUESTS_URL + "/", body, format="json").status_code == 201
    assert writer.post(REQUESTS_URL, body, format="json").status_code == 201
    assert writer.get(REQUESTS_URL + "/").status_code == 200


def test_operator_created_request_is_stamped_with_empty_tenant(operator_client):
    response = create_tts(operator_client)
    assert response.status_code == 201
    assert response.json()["tenant_id"] == ""
    assert response.json()["requested_by"] == "operator"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"modality": "smell_to_text", "input_text": "x"}, "modality"),
        ({"input_text": "x"}, "modality"),
        ({"modality": 3, "input_text": "x"}, "modality"),
        ({"modality": "text_to_speech", "input_text": 42}, "input_text"),
        ({"modality": "text_to_speech", "input_text": ["a"]}, "input_text"),
        (
            {"modality": "text_to_speech", "input_text": "x", "requested_timeout_seconds": 0},
            "requested_timeout_seconds",
        ),
        (
            {"modality": "text_to_speech", "input_text": "x", "requested_timeout_seconds": -5},
            "requested_timeout_seconds",
        ),
        (
            {"modality": "text_to_speech", "input_text": "x", "requested_timeout_seconds": "ten"},
            "requested_timeout_seconds",
        ),
        (
            {"modality": "text_to_speech", "input_text": "x", "requested_timeout_seconds": 1.5},
            "requested_timeout_seconds",
        ),
        (
            {"modality": "text_to_speech", "input_text": "x", "requested_timeout_seconds": True},
            "requested_timeout_seconds",
        ),
        ({"modality": "text_to_speech", "input_text": "x", "execute_now": "maybe"}, "execute_now"),
        ({"modality": "text_to_speech", "input_text": "x", "requested_by": ""}, "requested_by"),
        ({"modality": "text_to_speech"}, "input_text"),
        ({"modality": "text_to_speech", "input_text": "   "}, "input_text"),
        ({"modality": "vision_analysis"}, "input_artifact_base64"),
        ({"modality": "speech_to_text", "input_text": "no audio"}, "input_artifact_base64"),
        ({"modality": "vision_analysis", "input_artifact_base64": ""}, "input_artifact_base64"),
        (
            {
                "modality": "vision_analysis",
                "input_artifact_id": "mmart-1",
                "input_artifact_base64": "AAAA",
            },
            "input_artifact_id",
        ),
    ],
)
def test_create_rejects_bad_input_with_400_invalid(writer, body, field):
    response = writer.post(REQUESTS_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


@pytest.mark.parametrize("payload", [[1, 2], "text", 7, None])
def test_create_rejects_a_body_that_is_not_an_object(writer, payload):
    response = writer.post(REQUESTS_URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_create_rejects_malformed_json(writer):
    response = writer.post(REQUESTS_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_create_with_huge_timeout_is_a_policy_violation_not_a_500(writer):
    response = create_tts(writer, requested_timeout_seconds=10**30)
    assert response.status_code == 400
    assert response.json()["code"] == "policy_violation"
    assert "max_timeout_seconds" in response.json()["detail"]


def test_create_rejects_invalid_base64_as_policy_violation(writer):
    response = create(writer, modality="vision_analysis", input_artifact_base64="not base64!!")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "input_artifact_base64 is not valid base64 (artifact encoding rule).",
        "code": "policy_violation",
    }


def test_create_rejects_base64_with_embedded_newlines_strictly(writer):
    encoded = base64.encodebytes(image_bytes("PNG", (200, 200))).decode()  # has \n every 76
    assert "\n" in encoded
    response = create(writer, modality="vision_analysis", input_artifact_base64=encoded)
    assert response.status_code == 400
    assert response.json()["code"] == "policy_violation"


def test_create_from_unknown_artifact_id_is_400_invalid(writer):
    response = create(
        writer, modality="vision_analysis", input_artifact_id="mmart-0123456789abcdef"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "mmart-0123456789abcdef" in response.json()["detail"]


def test_speech_to_text_can_use_the_wav_artifact_of_a_tts_result(writer, other_tenant):
    tts = create_tts(writer, text="round trip", execute_now=True).json()
    result = writer.get(url(tts["id"], "result")).json()
    artifact_id = result["output_artifact_id"]
    assert artifact_id.startswith("mmart-")

    response = create(
        writer, modality="speech_to_text", input_artifact_id=artifact_id, execute_now=True
    )
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "completed"
    assert body["input_artifact_id"] == artifact_id
    assert body["input_artifact_bytes"] == result["output_data"]["bytes"]
    transcript = writer.get(url(body["id"], "result")).json()
    assert transcript["output_data"]["provider"] == "offline-stub"
    assert transcript["output_data"]["duration_ms"] == result["output_data"]["duration_ms"]

    foreign = create(other_tenant, modality="speech_to_text", input_artifact_id=artifact_id)
    assert foreign.status_code == 400
    assert foreign.json()["code"] == "invalid"


# --- get / list -------------------------------------------------------------------------


def test_get_returns_the_record(writer):
    created = create_tts(writer).json()
    response = writer.get(url(created["id"]))
    assert response.status_code == 200
    assert response.json() == created


def test_get_unknown_is_404(writer):
    response = writer.get(url("mmreq-0000000000000000"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_list_is_newest_first_and_bounded_by_limit(writer):
    ids = [create_tts(writer, text=f"n{i}").json()["id"] for i in range(5)]
    response = writer.get(REQUESTS_URL, {"limit": 3})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()] == ids[::-1][:3]
    assert [r["id"] for r in writer.get(REQUESTS_URL).json()] == ids[::-1]


def test_list_filters_by_modality_and_state(writer):
    tts = create_tts(writer).json()
    vision = create_vision(writer).json()
    done = create_tts(writer, execute_now=True).json()
    by_modality = writer.get(REQUESTS_URL, {"modality": "vision_analysis"}).json()
    assert [r["id"] for r in by_modality] == [vision["id"]]
    pending = writer.get(REQUESTS_URL, {"state": "pending"}).json()
    assert [r["id"] for r in pending] == [vision["id"], tts["id"]]
    completed = writer.get(REQUESTS_URL, {"state": "completed", "modality": "text_to_speech"})
    assert [r["id"] for r in completed.json()] == [done["id"]]


def test_list_never_contains_artifacts(writer):
    png = image_bytes("PNG", (300, 300))
    create_vision(writer, png)
    response = writer.get(REQUESTS_URL)
    assert response.status_code == 200
    assert b64(png)[:100] not in response.content.decode()
    assert response.json()[0]["input_artifact_bytes"] == len(png)


@pytest.mark.parametrize(
    "query, field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": -1}, "limit"),
        ({"state": "done"}, "state"),
        ({"modality": "telepathy"}, "modality"),
    ],
)
def test_list_rejects_bad_query_parameters(writer, query, field):
    response = writer.get(REQUESTS_URL, query)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


def test_list_accepts_the_maximum_limit(writer):
    response = writer.get(REQUESTS_URL, {"limit": 500})
    assert response.status_code == 200
    assert response.json() == []


# --- tenancy ----------------------------------------------------------------------------


def test_tenant_sees_only_its_own_requests_in_the_list(writer, other_tenant):
    mine = create_tts(writer).json()
    create_tts(other_tenant)
    assert [r["id"] for r in writer.get(REQUESTS_URL).json()] == [mine["id"]]


def test_tenant_ignores_tenant_id_query_of_another_tenant(writer, other_tenant):
    mine = create_tts(writer).json()
    create_tts(other_tenant)
    response = writer.get(REQUESTS_URL, {"tenant_id": "tenant-b"})
    assert [r["id"] for r in response.json()] == [mine["id"]]


def test_operator_sees_every_tenant_and_can_narrow(writer, other_tenant, operator_client):
    a = create_tts(writer).json()
    b = create_tts(other_tenant).json()
    everything = operator_client.get(REQUESTS_URL).json()
    assert [r["id"] for r in everything] == [b["id"], a["id"]]
    narrowed = operator_client.get(REQUESTS_URL, {"tenant_id": "tenant-a"}).json()
    assert [r["id"] for r in narrowed] == [a["id"]]


@pytest.mark.parametrize(
    "method, suffix",
    [("get", ""), ("post", "execute"), ("post", "cancel"), ("get", "result")],
)
def test_tenant_b_gets_404_on_tenant_a_request(writer, other_tenant, method, suffix):
    created = create_tts(writer, execute_now=suffix == "result").json()
    response = getattr(other_tenant, method)(url(created["id"], suffix))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert writer.get(url(created["id"])).json()["state"] == created["state"]


def test_operator_can_execute_and_cancel_a_tenant_request(writer, operator_client):
    first = create_tts(writer).json()
    second = create_tts(writer).json()
    assert operator_client.post(url(first["id"], "execute")).json()["state"] == "completed"
    assert operator_client.post(url(second["id"], "cancel")).json()["state"] == "cancelled"


# --- scopes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, suffix, scope",
    [
        ("get", "", READ),
        ("post", "execute", WRITE),
        ("post", "cancel", WRITE),
        ("get", "result", READ),
    ],
)
def test_detail_actions_need_their_scope(make_client, writer, method, suffix, scope):
    created = create_tts(writer).json()
    other_scope = WRITE if scope == READ else READ
    client = make_client([other_scope], tenant="tenant-a")
    response = getattr(client, method)(url(created["id"], suffix))
    assert response.status_code == 403
    assert response.json() == {
        "detail": f"Missing required scope: {scope}",
        "code": "permission_denied",
    }


def test_create_needs_write_scope(make_client):
    client = make_client([READ], tenant="tenant-a")
    response = create_tts(client)
    assert response.status_code == 403
    assert response.json()["detail"] == f"Missing required scope: {WRITE}"


def test_list_needs_read_scope(make_client):
    client = make_client([WRITE], tenant="tenant-a")
    response = client.get(REQUESTS_URL)
    assert response.status_code == 403
    assert response.json()["detail"] == f"Missing required scope: {READ}"


def test_wildcard_scope_grants_reads_and_writes(make_client):
    client = make_client(["multimodal:*"], tenant="tenant-a")
    assert create_tts(client).status_code == 201
    assert client.get(REQUESTS_URL).status_code == 200


def test_anonymous_is_401(anon_client):
    response = anon_client.get(REQUESTS_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_delete_is_405(writer):
    created = create_tts(writer).json()
    response = writer.delete(url(created["id"]))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_other_media_type_for_speech_to_text_fails_with_clear_message(writer):
    response = create(
        writer,
        modality="speech_to_text",
        input_artifact_base64=b64(b"ID3 definitely not a wav"),
        execute_now=True,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "failed"
    assert "not a readable WAV" in body["error_message"]


def test_speech_to_text_of_a_wav_upload_completes(writer):
    response = create(
        writer,
        modality="speech_to_text",
        input_artifact_base64=b64(wav_bytes(1.0, 8000)),
        execute_now=True,
    )
    assert response.status_code == 201
    assert response.json()["state"] == "completed"


def test_tenant_cannot_see_operator_created_requests(writer, operator_client):
    created = create_tts(operator_client).json()
    assert writer.get(url(created["id"])).status_code == 404
    assert writer.post(url(created["id"], "cancel")).status_code == 404
    assert writer.get(REQUESTS_URL).json() == []


def test_operator_narrowing_combines_with_state_filter(writer, other_tenant, operator_client):
    create_tts(writer)
    b = create_tts(other_tenant).json()
    response = operator_client.get(REQUESTS_URL, {"tenant_id": "tenant-b", "state": "pending"})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()] == [b["id"]]
