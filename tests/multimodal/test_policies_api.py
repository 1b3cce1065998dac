"""Tenant policies: who reads and writes them, PUT vs PATCH, and the checks at creation."""

from __future__ import annotations

import pytest

from .conftest import ADMIN, READ, WRITE, b64, create, create_tts, create_vision, image_bytes

DEFAULTS = {
    "max_text_chars": 5000,
    "max_artifact_bytes": 5000000,
    "max_timeout_seconds": 300,
    "allowed_modalities": ["speech_to_text", "text_to_speech", "vision_analysis"],
}


def policy_url(tenant: str) -> str:
    return f"/v1/multimodal/tenants/{tenant}/policy"


@pytest.fixture
def admin(make_client):
    """An operator with multimodal:admin (and read)."""
    return make_client([READ, ADMIN], sub="ops")


def test_tenant_reads_its_default_policy(writer):
    response = writer.get(policy_url("tenant-a"))
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_tenant_cannot_read_another_tenants_policy(writer):
    response = writer.get(policy_url("tenant-b"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_reading_a_policy_needs_read_scope(make_client):
    client = make_client([WRITE], tenant="tenant-a")
    response = client.get(policy_url("tenant-a"))
    assert response.status_code == 403
    assert response.json()["detail"] == f"Missing required scope: {READ}"


def test_operator_reads_any_policy_with_and_without_slash(admin):
    assert admin.get(policy_url("tenant-z")).json() == DEFAULTS
    assert admin.get(policy_url("tenant-z") + "/").json() == DEFAULTS


def test_put_replaces_and_omitted_fields_take_defaults(admin, writer):
    admin.patch(policy_url("tenant-a"), {"max_text_chars": 10}, format="json")
    response = admin.put(
        policy_url("tenant-a"), {"allowed_modalities": ["vision_analysis"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {**DEFAULTS, "allowed_modalities": ["vision_analysis"]}
    assert writer.get(policy_url("tenant-a")).json() == response.json()


def test_patch_merges_into_the_current_policy(admin):
    admin.put(policy_url("tenant-a"), {"max_timeout_seconds": 30}, format="json")
    response = admin.patch(policy_url("tenant-a"), {"max_text_chars": 12}, format="json")
    assert response.status_code == 200
    assert response.json() == {**DEFAULTS, "max_timeout_seconds": 30, "max_text_chars": 12}


def test_put_deduplicates_modalities(admin):
    response = admin.put(
        policy_url("t"),
        {"allowed_modalities": ["text_to_speech", "text_to_speech"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["allowed_modalities"] == ["text_to_speech"]


def test_tenant_principal_with_admin_scope_cannot_write_policies(make_client):
    client = make_client([READ, ADMIN], tenant="tenant-a")
    for method in ("put", "patch"):
        response = getattr(client, method)(
            policy_url("tenant-a"), {"max_text_chars": 1}, format="json"
        )
        assert response.status_code == 403
        assert response.json() == {
            "detail": "Tenant policies can only be written by an operator.",
            "code": "permission_denied",
        }
    assert client.get(policy_url("tenant-a")).json() == DEFAULTS


def test_operator_without_admin_scope_cannot_write_policies(make_client):
    client = make_client([READ, WRITE])
    response = client.put(policy_url("tenant-a"), {}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == f"Missing required scope: {ADMIN}"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"max_text_chars": 0}, "max_text_chars"),
        ({"max_text_chars": -1}, "max_text_chars"),
        ({"max_text_chars": 10**12}, "max_text_chars"),
        ({"max_text_chars": "many"}, "max_text_chars"),
        ({"max_text_chars": 2.5}, "max_text_chars"),
        ({"max_artifact_bytes": 0}, "max_artifact_bytes"),
        ({"max_artifact_bytes": 10**9}, "max_artifact_bytes"),
        ({"max_timeout_seconds": 0}, "max_timeout_seconds"),
        ({"max_timeout_seconds": 86400}, "max_timeout_seconds"),
        ({"max_timeout_seconds": None}, "max_timeout_seconds"),
        ({"allowed_modalities": ["smell"]}, "allowed_modalities"),
        ({"allowed_modalities": "vision_analysis"}, "allowed_modalities"),
        ({"allowed_modalities": [1]}, "allowed_modalities"),
    ],
)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_policy_writes_validate_ranges_and_names(admin, body, field, method):
    response = getattr(admin, method)(policy_url("tenant-a"), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert any(key.startswith(field) for key in response.json()["errors"])
    assert admin.get(policy_url("tenant-a")).json() == DEFAULTS


def test_policy_write_rejects_a_non_object_body(admin):
    response = admin.put(policy_url("tenant-a"), [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


# --- the checks at creation -------------------------------------------------------------


def test_disallowed_modality_is_a_policy_violation(admin, writer):
    admin.put(policy_url("tenant-a"), {"allowed_modalities": ["vision_analysis"]}, format="json")
    response = create_tts(writer)
    assert response.status_code == 400
    assert response.json()["code"] == "policy_violation"
    assert "not allowed" in response.json()["detail"]
    assert create_vision(writer).status_code == 201


def test_text_over_max_text_chars_is_a_policy_violation(admin, writer):
    admin.patch(policy_url("tenant-a"), {"max_text_chars": 5}, format="json")
    response = create_tts(writer, text="123456")
    assert response.status_code == 400
    assert response.json()["code"] == "policy_violation"
    assert "max_text_chars" in response.json()["detail"]
    assert create_tts(writer, text="12345").status_code == 201


def test_default_text_limit_applies(writer):
    response = create_tts(writer, text="x" * 5001)
    assert response.status_code == 400
    assert response.json()["code"] == "policy_violation"
    assert create_tts(writer, text="x" * 5000).status_code == 201


def test_artifact_over_max_artifact_bytes_is_a_policy_violation(admin, writer):
    png = image_bytes()
    admin.patch(policy_url("tenant-a"), {"max_artifact_bytes": len(png) - 1}, format="json")
    response = create(writer, modality="vision_analysis", input_artifact_base64=b64(png))
    assert response.status_code == 400
    assert response.json()["code"] == "policy_violation"
    assert "max_artifact_bytes" in response.json()["detail"]


def test_timeout_over_max_timeout_seconds_is_a_policy_violation(admin, writer):
    admin.patch(policy_url("tenant-a"), {"max_timeout_seconds": 10}, format="json")
    response = create_tts(writer, requested_timeout_seconds=11)
    assert response.status_code == 400
    assert response.json()["code"] == "policy_violation"
    assert "max_timeout_seconds" in response.json()["detail"]
    ok = create_tts(writer, requested_timeout_seconds=10)
    assert ok.status_code == 201


def test_default_timeout_is_capped_by_a_lower_policy_maximum(admin, writer):
    admin.patch(policy_url("tenant-a"), {"max_timeout_seconds": 20}, format="json")
    response = create_tts(writer)
    assert response.status_code == 201
    assert response.json()["requested_timeout_seconds"] == 20


def test_a_policy_only_binds_its_own_tenant(admin, writer, other_tenant):
    admin.put(policy_url("tenant-a"), {"allowed_modalities": []}, format="json")
    assert create_tts(writer).status_code == 400
    assert create_tts(other_tenant).status_code == 201


def test_operator_requests_are_checked_against_the_default_policy(operator_client):
    response = create_tts(operator_client, text="x" * 5001)
    assert response.status_code == 400
    assert response.json()["code"] == "policy_violation"
