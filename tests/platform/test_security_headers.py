"""Browser-facing pages send a Content-Security-Policy, Referrer-Policy and X-Frame-Options,
and X-Forwarded-Proto is not trusted from a direct client."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = ["/v1/docs/", "/v1/redoc/", "/admin/login/", "/admin/", "/admin/console/hub/"]


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_user(
        "root", password="pw-12345-long", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(user)
    return client


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("page", PAGES)
def test_page_sends_a_same_origin_csp_and_refuses_framing(staff_client, page):
    client = Client() if page == "/admin/login/" else staff_client  # the login page, logged out
    response = client.get(page)
    assert response.status_code == 200
    csp = _directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    assert all(v == "'self'" or v.startswith("'nonce-") for v in csp["script-src"])
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["worker-src"] == ["'self'", "blob:"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_no_policy_allows_scripts_from_elsewhere_or_inline_without_a_nonce(staff_client):
    for page in PAGES:
        client = Client() if page == "/admin/login/" else staff_client
        policy = client.get(page)["Content-Security-Policy"]
        script_src = _directives(policy)["script-src"]
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert not any(v.startswith(("http", "*")) for v in script_src)


def test_x_forwarded_proto_from_a_direct_client_does_not_make_a_request_secure(settings):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/v1/docs/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/v1/docs/"
