"""Scope rules (admin, wildcards, exact) and the permission class that applies them."""

from __future__ import annotations

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from agent33_site.security.scopes import KNOWN_SCOPES, has_scope, scope_grants, unknown_scopes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("granted", "required", "expected"),
    [
        ("admin", "outcomes:write", True),
        ("outcomes:*", "outcomes:write", True),
        ("outcomes:*", "workflows:read", False),
        ("*:read", "multimodal:read", True),
        ("*:read", "multimodal:write", False),
        ("outcomes:read", "outcomes:read", True),
        ("outcomes:read", "outcomes:write", False),
        ("outcomes", "outcomes:read", False),
    ],
)
def test_scope_grants(granted, required, expected):
    assert scope_grants(granted, required) is expected


def test_has_scope_any_of_many():
    assert has_scope(["outcomes:read", "workflows:*"], "workflows:execute") is True
    assert has_scope([], "workflows:execute") is False


def test_unknown_scopes_refuses_names_and_wildcards_matching_nothing():
    assert unknown_scopes(["outcomes:read", "outcomes:*", "admin", "*:read"]) == []
    assert unknown_scopes(["outcomes:delete", "billing:*"]) == ["outcomes:delete", "billing:*"]


def test_known_scopes_cover_the_contract_table():
    assert set(KNOWN_SCOPES) == {
        "workflows:read",
        "workflows:write",
        "workflows:execute",
        "multimodal:read",
        "multimodal:write",
        "multimodal:admin",
        "outcomes:read",
        "outcomes:write",
        "admin",
    }


class ScopedProbeView(APIView):
    """A probe with a read and a write scope, plus a method with no declared scope."""

    scope_map = {"get": "outcomes:read", "post": "outcomes:write"}

    def get(self, request):
        return Response({"ok": True, "tenant_id": request.tenant_id})

    def post(self, request):
        return Response({"ok": True}, status=201)

    def delete(self, request):
        return Response({"deleted": True})


urlpatterns = [path("v1/probe", ScopedProbeView.as_view())]


@pytest.fixture
def probe_urls(settings):
    settings.ROOT_URLCONF = __name__


def test_missing_scope_is_403_with_contract_detail(probe_urls, make_client):
    response = make_client(["outcomes:read"], tenant="t1").post("/v1/probe", {}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Missing required scope: outcomes:write",
        "code": "permission_denied",
    }


def test_exact_scope_is_enough(probe_urls, make_client):
    response = make_client(["outcomes:read"], tenant="t1").get("/v1/probe")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "tenant_id": "t1"}


def test_head_needs_the_scope_of_get(probe_urls, make_client):
    assert make_client(["outcomes:read"], tenant="t1").head("/v1/probe").status_code == 200
    response = make_client(["outcomes:write"], tenant="t1").head("/v1/probe")
    assert response.status_code == 403


def test_wildcard_scope_grants_matching_actions(probe_urls, make_client):
    response = make_client(["outcomes:*"], tenant="t1").post("/v1/probe", {}, format="json")
    assert response.status_code == 201
    assert response.json() == {"ok": True}


def test_admin_scope_grants_everything(probe_urls, make_client):
    response = make_client(["admin"]).post("/v1/probe", {}, format="json")
    assert response.status_code == 201


def test_unauthenticated_is_401_not_403(probe_urls, anon_client):
    response = anon_client.post("/v1/probe", {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_action_without_declared_scope_fails_closed(probe_urls, make_client):
    response = make_client(["outcomes:*"], tenant="t1").delete("/v1/probe")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
