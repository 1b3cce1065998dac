"""Strict input (contract §1): what is accepted comes back as sent, anything else is a 400
that names the field, never echoes what was sent, and stores nothing."""

from __future__ import annotations

import pytest

from .conftest import ADMIN, READ, REQUESTS_URL, WRITE, b64, create_tts, image_bytes

TIMEOUT = "requested_timeout_seconds"
NOT_AN_INT = "A valid integer is required."
ARABIC_FIVE = "\u0665"
MODALITIES = "speech_to_text, text_to_speech, vision_analysis"
STATES = "pending, processing, completed, failed, cancelled"
POLICY_DEFAULTS = {
    "max_text_chars": 5000,
    "max_artifact_bytes": 5_000_000,
    "max_timeout_seconds": 300,
    "allowed_modalities": ["speech_to_text", "text_to_speech", "vision_analysis"],
}


def policy_url(tenant: str) -> str:
    return f"/v1/multimodal/tenants/{tenant}/policy"


@pytest.fixture
def operator(make_client):
    return make_client([READ, WRITE, ADMIN], sub="ops")


def stored_ids(client) -> list[str]:
    response = client.get(REQUESTS_URL, {"limit": 500})
    assert response.status_code == 200
    return [r["id"] for r in response.json()]


TTS = {"modality": "text_to_speech", "input_text": "hello", "execute_now": False}


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"input_text": 42}, "input_text", "Must be a string."),
        ({"input_text": True}, "input_text", "Must be a string."),
        ({"input_text": {"a": 1}}, "input_text", "Must be a string."),
        ({"requested_by": 7}, "requested_by", "Must be a string."),
        ({"requested_by": False}, "requested_by", "Must be a string."),
        ({"input_artifact_id": 12345}, "input_artifact_id", "Must be a string."),
        ({"execute_now": "true"}, "execute_now", "Must be a JSON boolean (true or false)."),
        ({"execute_now": "false"}, "execute_now", "Must be a JSON boolean (true or false)."),
        ({"execute_now": 1}, "execute_now", "Must be a JSON boolean (true or false)."),
        ({"execute_now": 0}, "execute_now", "Must be a JSON boolean (true or false)."),
        ({TIMEOUT: "60"}, TIMEOUT, NOT_AN_INT),
        ({TIMEOUT: ARABIC_FIVE}, TIMEOUT, NOT_AN_INT),
        ({TIMEOUT: ""}, TIMEOUT, NOT_AN_INT),
        ({TIMEOUT: 5.0}, TIMEOUT, NOT_AN_INT),
        ({TIMEOUT: False}, TIMEOUT, NOT_AN_INT),
        ({"modality": "TEXT_TO_SPEECH"}, "modality", f"Must be one of: {MODALITIES}."),
        ({"modality": ""}, "modality", f"Must be one of: {MODALITIES}."),
        ({"modality": 1}, "modality", f"Must be one of: {MODALITIES}."),
    ],
)
def test_create_refuses_wrong_types_naming_the_field_and_stores_nothing(
    writer, changes, field, message
):
    response = writer.post(REQUESTS_URL, {**TTS, **changes}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"{field}: {message}",
        "code": "invalid",
        "errors": {field: [message]},
    }
    assert stored_ids(writer) == []


def test_create_artifact_base64_must_be_a_string(writer):
    body = {"modality": "vision_analysis", "input_artifact_base64": 1234, "execute_now": False}
    response = writer.post(REQUESTS_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"input_artifact_base64": ["Must be a string."]}
    assert stored_ids(writer) == []


def test_an_unknown_modality_error_never_echoes_what_was_sent(writer):
    sent = "téléportation-\x00-" + "x" * 50
    response = writer.post(REQUESTS_URL, {**TTS, "modality": sent}, format="json")
    assert response.status_code == 400
    assert sent not in response.content.decode()
    assert "téléportation" not in response.content.decode()
    assert response.json()["errors"] == {"modality": [f"Must be one of: {MODALITIES}."]}


def test_a_lone_surrogate_in_the_body_is_400_and_stores_nothing(writer):
    raw = '{"modality": "text_to_speech", "input_text": "a\\ud800b", "execute_now": false}'
    response = writer.post(REQUESTS_URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "\ud800" not in response.content.decode("utf-8")
    assert stored_ids(writer) == []


def test_text_comes_back_exactly_as_sent_untrimmed(writer):
    text = "  hello\tworld \x00 ✓  "
    response = create_tts(writer, text=text, requested_by="  bob  ")
    assert response.status_code == 201
    body = response.json()
    assert (body["input_text"], body["requested_by"]) == (text, "  bob  ")
    again = writer.get(f"{REQUESTS_URL}/{body['id']}")
    assert again.status_code == 200
    assert (again.json()["input_text"], again.json()["requested_by"]) == (text, "  bob  ")
    listed = writer.get(REQUESTS_URL).json()
    assert [r["input_text"] for r in listed] == [text]


def test_requested_by_defaults_to_the_token_sub(writer):
    response = create_tts(writer)
    assert response.status_code == 201
    assert response.json()["requested_by"] == "alice"


def test_execute_now_accepts_json_booleans(writer):
    assert create_tts(writer, execute_now=False).json()["state"] == "pending"
    assert create_tts(writer, execute_now=True).json()["state"] == "completed"


# --- query parameters -------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("limit=", "limit", "A valid integer is required."),
        ("limit=%D9%A5", "limit", "A valid integer is required."),  # Arabic-Indic five
        ("limit=5.0", "limit", "A valid integer is required."),
        ("limit=%205", "limit", "A valid integer is required."),
        ("limit=0", "limit", "Ensure this value is greater than or equal to 1."),
        ("limit=501", "limit", "Ensure this value is less than or equal to 500."),
        ("state=bogus", "state", f"Must be one of: {STATES}."),
        ("state=", "state", f"Must be one of: {STATES}."),
        ("state=PENDING", "state", f"Must be one of: {STATES}."),
        ("modality=", "modality", f"Must be one of: {MODALITIES}."),
        ("modality=smell", "modality", f"Must be one of: {MODALITIES}."),
    ],
)
def test_list_refuses_bad_query_values_naming_allowed_ones(writer, query, field, message):
    create_tts(writer)
    response = writer.get(f"{REQUESTS_URL}?{query}")
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"{field}: {message}",
        "code": "invalid",
        "errors": {field: [message]},
    }


def test_operator_empty_tenant_id_query_is_400(operator):
    response = operator.get(f"{REQUESTS_URL}?tenant_id=")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == ["tenant_id"]


def test_operator_tenant_id_query_narrows_the_list(operator, writer, other_tenant):
    mine = create_tts(writer).json()["id"]
    create_tts(other_tenant)
    response = operator.get(REQUESTS_URL, {"tenant_id": "tenant-a"})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()] == [mine]


def test_an_unknown_state_query_error_never_echoes_it(writer):
    response = writer.get(f"{REQUESTS_URL}?state=%C3%A9t%C3%A9-%00")
    assert response.status_code == 400
    assert "été" not in response.content.decode()
    assert response.json()["errors"] == {"state": [f"Must be one of: {STATES}."]}


# --- policies ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"max_text_chars": "100"}, "max_text_chars", "A valid integer is required."),
        ({"max_artifact_bytes": 1.0}, "max_artifact_bytes", "A valid integer is required."),
        ({"max_timeout_seconds": True}, "max_timeout_seconds", "A valid integer is required."),
        (
            {"allowed_modalities": ["TEXT_TO_SPEECH"]},
            "allowed_modalities.0",
            f"Must be one of: {MODALITIES}.",
        ),
        (
            {"allowed_modalities": ["vision_analysis", ""]},
            "allowed_modalities.1",
            f"Must be one of: {MODALITIES}.",
        ),
    ],
)
def test_policy_writes_are_strict_and_change_nothing_when_refused(
    operator, method, body, field, message
):
    response = getattr(operator, method)(policy_url("tenant-a"), body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"{field}: {message}",
        "code": "invalid",
        "errors": {field: [message]},
    }
    assert operator.get(policy_url("tenant-a")).json() == POLICY_DEFAULTS


def test_vision_request_with_a_real_artifact_is_accepted(writer):
    body = {
        "modality": "vision_analysis",
        "input_artifact_base64": b64(image_bytes()),
        "execute_now": True,
    }
    response = writer.post(REQUESTS_URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["state"] == "completed"
