"""Every error under /v1/ is JSON `{detail, code[, errors]}`, and none is a 500 by accident."""

from __future__ import annotations

import pytest
from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from agent33_site.urls import urlpatterns as project_urlpatterns

pytestmark = pytest.mark.django_db


class ConflictError(Exception):
    """A domain error as the apps raise them: two attributes and a message."""

    http_status = 409
    error_code = "invalid_transition"


class EchoInput(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    count = serializers.IntegerField(min_value=1)


class EchoView(APIView):
    scope_map = {"post": "outcomes:write", "get": "outcomes:read"}

    def post(self, request):
        body = EchoInput(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(body.validated_data, status=201)

    def get(self, request):
        raise ConflictError("Cannot pause a trace in state 'completed'.")


class EchoingView(APIView):
    """Errors whose messages quote text that cannot be encoded (a lone surrogate)."""

    scope_map = {"get": "outcomes:read", "post": "outcomes:write"}

    def get(self, request):
        raise ConflictError("Cannot pause process 'bad\udcff'.")

    def post(self, request):
        raise serializers.ValidationError({"name\udcff": ["'bad\udcff' is not a valid choice."]})


class BrokenView(APIView):
    scope_map = {"get": "outcomes:read"}

    def get(self, request):
        raise RuntimeError("boom with a secret traceback")


# The probes go first: the project's catch-all 404 for /v1/ must stay last.
urlpatterns = [
    path("v1/echo", EchoView.as_view()),
    path("v1/broken", BrokenView.as_view()),
    path("v1/echoing", EchoingView.as_view()),
    *project_urlpatterns,
]
handler404 = "agent33_site.api.errors.handler404"
handler500 = "agent33_site.api.errors.handler500"


@pytest.fixture
def echo_urls(settings):
    settings.ROOT_URLCONF = __name__


@pytest.fixture
def writer(make_client):
    return make_client(["outcomes:*"], tenant="t1")


def test_validation_error_lists_field_errors(echo_urls, writer):
    response = writer.post("/v1/echo", {"name": "toolong", "count": 0}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"name", "count"}
    assert body["errors"]["count"] == ["Ensure this value is greater than or equal to 1."]
    assert body["detail"].startswith("name: ")


def test_malformed_json_is_400_invalid(echo_urls, writer):
    response = writer.post("/v1/echo", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "JSON parse error" in response.json()["detail"]


def test_non_json_content_type_is_415_json(echo_urls, writer):
    response = writer.post("/v1/echo", data="name=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_domain_error_is_translated_by_its_attributes(echo_urls, writer):
    response = writer.get("/v1/echo")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Cannot pause a trace in state 'completed'.",
        "code": "invalid_transition",
    }


def test_method_not_allowed_is_405_json(echo_urls, writer):
    response = writer.put("/v1/echo", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.', "code": "method_not_allowed"}


def test_unknown_api_path_is_404_json(anon_client):
    response = anon_client.post("/v1/no/such/thing", {}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_unhandled_exception_is_500_json_without_traceback(echo_urls, make_client):
    client = make_client(["outcomes:read"], tenant="t1")
    client.raise_request_exception = False
    response = client.get("/v1/broken")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert b"secret traceback" not in response.content


def test_body_over_the_limit_is_413_json(echo_urls, writer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = writer.post("/v1/echo", {"name": "x" * 2000, "count": 1}, format="json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "Request body is larger than the configured limit.",
        "code": "payload_too_large",
    }


def test_default_limit_admits_a_5_mb_artifact_in_base64(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE >= 5_000_000 * 4 // 3 + 64 * 1024


def test_body_over_the_limit_is_413_even_unauthenticated(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = APIClient().post("/v1/whoami", {"x": "y" * 500}, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_deeply_nested_json_is_400_not_500(echo_urls, writer):
    body = '{"name": "x", "count": 1, "extra": ' + "[" * 50_000 + "]" * 50_000 + "}"
    response = writer.post("/v1/echo", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nesting too deep.", "code": "invalid"}


def test_domain_error_never_echoes_undecodable_text(echo_urls, writer):
    response = writer.get("/v1/echoing")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Cannot pause process 'bad\ufffd'.",
        "code": "invalid_transition",
    }


def test_validation_error_never_echoes_undecodable_text(echo_urls, writer):
    response = writer.post("/v1/echoing", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "name\ufffd: 'bad\ufffd' is not a valid choice.",
        "code": "invalid",
        "errors": {"name\ufffd": ["'bad\ufffd' is not a valid choice."]},
    }


def test_body_with_a_lone_surrogate_is_400_and_the_message_does_not_quote_it(echo_urls, writer):
    response = writer.post(
        "/v1/echo", data='{"name": "bad\\udcff", "count": 1}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "bad" not in response.json()["detail"]
