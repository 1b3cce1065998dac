"""Bearer JWT and staff-session authentication: every 401 case, and who a principal is."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from agent33_site.security.tokens import issue_token

pytestmark = pytest.mark.django_db

WHOAMI = "/v1/whoami"


def _client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _assert_401(response, code: str) -> None:
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401_not_authenticated(anon_client):
    response = anon_client.get(WHOAMI)
    _assert_401(response, "not_authenticated")
    assert response.json()["detail"] == "Authentication credentials were not provided."


def test_valid_tenant_token_reaches_the_view_with_its_tenant(make_client):
    response = make_client(["outcomes:read"], tenant="tenant-a", sub="svc").get(WHOAMI)
    assert response.status_code == 200
    assert response.json() == {
        "sub": "svc",
        "scopes": ["outcomes:read"],
        "tenant_id": "tenant-a",
        "is_operator": False,
    }


def test_operator_token_has_empty_tenant(make_client):
    response = make_client(["admin"], sub="ops").get(WHOAMI)
    assert response.status_code == 200
    assert response.json()["tenant_id"] == ""
    assert response.json()["is_operator"] is True


def test_expired_token_is_401():
    now = int(time.time())
    token = jwt.encode(
        {"sub": "x", "scopes": ["admin"], "iat": now - 100, "exp": now - 10},
        settings.AGENT33_JWT_SECRET,
        algorithm="HS256",
    )
    response = _client_with(token).get(WHOAMI)
    _assert_401(response, "authentication_failed")
    assert response.json()["detail"] == "Token has expired."


def test_token_without_exp_is_401():
    token = jwt.encode({"sub": "x", "scopes": ["admin"]}, settings.AGENT33_JWT_SECRET, "HS256")
    _assert_401(_client_with(token).get(WHOAMI), "authentication_failed")


def test_wrongly_signed_token_is_401():
    token = jwt.encode(
        {"sub": "x", "scopes": ["admin"], "exp": int(time.time()) + 60},
        "another-secret-entirely-another-secret",
        algorithm="HS256",
    )
    _assert_401(_client_with(token).get(WHOAMI), "authentication_failed")


def test_alg_none_token_is_401():
    def b64(part: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    claims = {"sub": "x", "scopes": ["admin"], "exp": int(time.time()) + 60}
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    _assert_401(_client_with(token).get(WHOAMI), "authentication_failed")


def test_tampered_payload_is_401():
    header, _, signature = issue_token(sub="x", scopes=["outcomes:read"]).split(".")
    forged = base64.urlsafe_b64encode(
        json.dumps({"sub": "x", "scopes": ["admin"], "exp": int(time.time()) + 60}).encode()
    )
    token = f"{header}.{forged.rstrip(b'=').decode()}.{signature}"
    _assert_401(_client_with(token).get(WHOAMI), "authentication_failed")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "Bearer"])
def test_malformed_token_is_401(token):
    _assert_401(_client_with(token).get(WHOAMI), "authentication_failed")


def test_token_with_non_list_scopes_is_401():
    token = jwt.encode(
        {"sub": "x", "scopes": "admin", "exp": int(time.time()) + 60},
        settings.AGENT33_JWT_SECRET,
        algorithm="HS256",
    )
    _assert_401(_client_with(token).get(WHOAMI), "authentication_failed")


def _staff_client(*, superuser: bool) -> APIClient:
    user_model = get_user_model()
    if superuser:
        user = user_model.objects.create_superuser("boss", "boss@example.com", "pw-12345-long")
    else:
        user = user_model.objects.create_user("staffer", password="pw-12345-long", is_staff=True)
    client = APIClient()
    client.force_login(user)
    return client


def test_superuser_session_is_operator_with_admin():
    response = _staff_client(superuser=True).get(WHOAMI)
    assert response.status_code == 200
    assert response.json() == {
        "sub": "boss",
        "scopes": ["admin"],
        "tenant_id": "",
        "is_operator": True,
    }


def test_other_staff_session_reads_everything_and_nothing_more():
    response = _staff_client(superuser=False).get(WHOAMI)
    assert response.status_code == 200
    assert response.json()["scopes"] == ["multimodal:read", "outcomes:read", "workflows:read"]
    assert response.json()["is_operator"] is True


def test_non_staff_session_is_not_a_principal():
    user = get_user_model().objects.create_user("plain", password="pw-12345-long")
    client = APIClient()
    client.force_login(user)
    _assert_401(client.get(WHOAMI), "not_authenticated")


def test_browsable_api_renders_for_staff():
    response = _staff_client(superuser=True).get(WHOAMI, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"boss" in response.content
    assert response["Content-Type"].startswith("text/html")


# --- claims must be valid text -----------------------------------------------------------


def _signed(claims: dict) -> str:
    now = int(time.time())
    return jwt.encode(
        {"scopes": ["admin"], "iat": now, "exp": now + 60, **claims},
        settings.AGENT33_JWT_SECRET,
        algorithm="HS256",
    )


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "bad\udcff"},
        {"sub": "svc", "tenant_id": "t\ud800"},
        {"sub": "svc", "tenant_id": "t1", "scopes": ["outcomes:read", "outcomes:\udfff"]},
    ],
    ids=["sub", "tenant_id", "scope"],
)
def test_token_with_a_lone_surrogate_in_a_claim_is_401_not_500(claims):
    response = _client_with(_signed(claims)).get(WHOAMI)
    _assert_401(response, "authentication_failed")
    assert response.json()["detail"] == "Invalid token: claims must be valid Unicode text."


def test_token_with_non_ascii_but_valid_claims_is_accepted():
    response = _client_with(_signed({"sub": "zoë", "tenant_id": "tenant-ü"})).get(WHOAMI)
    assert response.status_code == 200
    assert response.json()["sub"] == "zoë"
    assert response.json()["tenant_id"] == "tenant-ü"


# --- one principal per request, never a mix of session and token -----------------------------


def test_api_request_with_session_and_bearer_is_the_bearer_principal_alone():
    client = _staff_client(superuser=True)
    token = issue_token(sub="svc", scopes=["outcomes:read"], tenant_id="t1")
    response = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json() == {
        "sub": "svc",
        "scopes": ["outcomes:read"],
        "tenant_id": "t1",
        "is_operator": False,
    }


def test_api_request_with_session_and_a_bad_bearer_is_401_not_the_session():
    client = _staff_client(superuser=True)
    _assert_401(client.get(WHOAMI, HTTP_AUTHORIZATION="Bearer not-a-jwt"), "authentication_failed")


# --- verified tokens are remembered, never beyond what verification would allow ------------


def test_a_remembered_token_is_refused_once_it_expires():
    token = issue_token(sub="svc", scopes=["outcomes:read"], tenant_id="acme", ttl_seconds=1)
    first = _client_with(token).get(WHOAMI)
    assert first.status_code == 200
    assert first.json()["sub"] == "svc"
    time.sleep(2.05)  # `exp` is whole seconds: past it for certain
    expired = _client_with(token).get(WHOAMI)
    _assert_401(expired, "authentication_failed")
    assert expired.json()["detail"] == "Token has expired."


def test_a_remembered_token_is_refused_after_the_secret_changes(settings):
    token = issue_token(sub="svc", scopes=["outcomes:read"], tenant_id="acme")
    assert _client_with(token).get(WHOAMI).status_code == 200
    settings.AGENT33_JWT_SECRET = "a-rotated-secret-that-is-long-enough-for-hs256!"
    _assert_401(_client_with(token).get(WHOAMI), "authentication_failed")
    fresh = issue_token(sub="svc", scopes=["outcomes:read"], tenant_id="acme")
    assert _client_with(fresh).get(WHOAMI).json()["tenant_id"] == "acme"


def test_a_tampered_copy_of_a_remembered_token_is_still_refused():
    token = issue_token(sub="svc", scopes=["outcomes:read"], tenant_id="acme")
    assert _client_with(token).get(WHOAMI).status_code == 200
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tenant_id"] = "globex"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    _assert_401(_client_with(f"{header}.{forged}.{signature}").get(WHOAMI), "authentication_failed")
