"""`X-Request-ID` on every response and one JSON log line per request (contract §6).

The caller's id is kept when it is 1-128 characters of `[A-Za-z0-9._:-]`, else replaced
(never echoed); the line says method, route, status, duration, principal and tenant, and
never a token, a body or a query value.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.test import APIClient

from agent33_core.registry import services
from agent33_site.observability.json_logs import JSONFormatter
from agent33_site.security.tokens import issue_token

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
EVENTS = "/v1/outcomes/events"
LINE_FIELDS = {
    "time",
    "level",
    "logger",
    "message",
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "sub",
    "tenant",
}


@pytest.fixture(autouse=True)
def fresh_services():
    services.reset_all()
    yield
    services.reset_all()


@pytest.fixture
def request_lines(caplog: pytest.LogCaptureFixture):
    """The JSON lines `agent33.requests` wrote, as its handler formats them."""
    logger = logging.getLogger("agent33.requests")
    attached = caplog.handler not in logger.handlers
    if attached:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="agent33.requests")
    formatter = JSONFormatter()

    def lines() -> list[str]:
        return [
            formatter.format(record)
            for record in caplog.records
            if record.name == "agent33.requests"
        ]

    yield lines
    if attached:
        logger.removeHandler(caplog.handler)


def event(**overrides) -> dict:
    return {
        "domain": "billing",
        "event_type": "invoke",
        "metric_type": "latency_ms",
        "value": 12.0,
        **overrides,
    }


# --- the header ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/readyz",
        "/v1/schema/",
        "/v1/docs/",
        "/v1/outcomes/health",
        "/v1/traces/",  # 401
        "/v1/no-such-path",  # API 404
        "/no-such-page",  # HTML 404
        "/admin/console/",  # redirect to login
        "/admin/login/",
        "/metrics",  # 401
        "/static/admin/css/base.css",  # WhiteNoise answers before any view
    ],
)
@pytest.mark.django_db
def test_every_response_carries_a_new_request_id(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code in {200, 302, 401, 404}, (path, response.status_code)
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])


def test_two_requests_get_two_ids(anon_client):
    first = anon_client.get("/healthz")
    second = anon_client.get("/healthz")
    assert first.json() == second.json() == {"status": "ok"}
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize(
    "sent",
    ["a", "abc-123", "req.2026-11-30T20:00:00Z", "A_b.c:d-e", "x" * 128, "0" * 32],
)
def test_a_sane_caller_id_is_echoed(make_client, sent):
    writer = make_client(["outcomes:write"], tenant="t1")
    response = writer.post(EVENTS, event(), format="json", HTTP_X_REQUEST_ID=sent)
    assert response.status_code == 201
    assert response.json()["domain"] == "billing"
    assert response["X-Request-ID"] == sent


@pytest.mark.parametrize(
    "sent",
    [
        "",
        "x" * 129,
        "has space",
        "semi;colon",
        "new\nline",
        "<script>",
        "é",
        "\u00ff" * 4,
        "a/b",
        '"quoted"',
        "x" * 100_000,
    ],
)
def test_an_unsafe_caller_id_is_replaced_never_echoed(anon_client, sent):
    response = anon_client.get("/healthz", HTTP_X_REQUEST_ID=sent)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])
    assert response["X-Request-ID"] != sent


def test_errors_carry_the_callers_id(make_client, anon_client):
    reader = make_client(["outcomes:read"], tenant="t1")
    cases = [
        (anon_client.get("/v1/outcomes/events", HTTP_X_REQUEST_ID="r-401"), 401, "r-401"),
        (reader.post(EVENTS, event(), format="json", HTTP_X_REQUEST_ID="r-403"), 403, "r-403"),
        (reader.get("/v1/outcomes/events?limit=x", HTTP_X_REQUEST_ID="r-400"), 400, "r-400"),
        (reader.get("/v1/nope", HTTP_X_REQUEST_ID="r-404"), 404, "r-404"),
        (reader.delete("/v1/outcomes/health", HTTP_X_REQUEST_ID="r-405"), 405, "r-405"),
    ]
    for response, status, request_id in cases:
        assert response.status_code == status, request_id
        assert "code" in response.json()
        assert response["X-Request-ID"] == request_id


def test_a_413_refused_before_any_view_gets_an_id_and_a_line(make_client, request_lines):
    writer = make_client(["outcomes:write"], tenant="t1")
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=64):
        response = writer.post(
            EVENTS, event(domain="x" * 200), format="json", HTTP_X_REQUEST_ID="big-1"
        )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert response["X-Request-ID"] == "big-1"
    [line] = request_lines()
    logged = json.loads(line)
    assert (logged["request_id"], logged["status"], logged["route"]) == ("big-1", 413, "unmatched")


@override_settings(DEBUG=False, DEBUG_PROPAGATE_EXCEPTIONS=False)
def test_a_500_gets_an_id_and_a_line(make_client, request_lines, monkeypatch):
    from outcomes.services import OutcomesService

    def broken(self, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(OutcomesService, "list_events", broken)
    client = make_client(["outcomes:read"], tenant="t1")
    client.raise_request_exception = False
    response = client.get(EVENTS, HTTP_X_REQUEST_ID="boom-1")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert response["X-Request-ID"] == "boom-1"
    [line] = request_lines()
    logged = json.loads(line)
    assert (logged["request_id"], logged["status"]) == ("boom-1", 500)


# --- the log line ------------------------------------------------------------------------


def test_one_json_line_per_request_with_every_field(make_client, request_lines):
    writer = make_client(["outcomes:write", "outcomes:read"], tenant="acme", sub="acme-bot")
    created = writer.post(EVENTS, event(), format="json", HTTP_X_REQUEST_ID="line-1")
    assert created.status_code == 201
    listed = writer.get(f"{EVENTS}?limit=5")
    assert listed.status_code == 200
    assert len(listed.json()) == 1
    lines = request_lines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == LINE_FIELDS
    assert first["request_id"] == "line-1"
    assert (first["method"], first["route"], first["status"]) == ("POST", "v1/outcomes/events", 201)
    assert (first["sub"], first["tenant"]) == ("acme-bot", "acme")
    assert first["logger"] == "agent33.requests" and first["level"] == "INFO"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert second["request_id"] == listed["X-Request-ID"]
    assert (second["method"], second["status"]) == ("GET", 200)
    assert "\n" not in lines[0]


def test_the_line_names_the_route_never_the_path_or_query(make_client, request_lines):
    reader = make_client(["workflows:read"], tenant="t1")
    response = reader.get("/v1/traces/trace-feedfacecafe0001?secret=hunter2")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    [line] = request_lines()
    assert json.loads(line)["route"] == "v1/traces/<pk>"
    assert "feedfacecafe0001" not in line and "hunter2" not in line


def test_no_token_or_body_is_ever_logged(request_lines):
    token = issue_token(sub="writer", scopes=["outcomes:write"], tenant_id="t1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    secret_body = event(domain="very-secret-domain", metadata={"password": "pw-in-body"})
    assert client.post(EVENTS, secret_body, format="json").status_code == 201
    tampered = APIClient()
    tampered.credentials(HTTP_AUTHORIZATION=f"Bearer {token[:-3]}abc")
    refused = tampered.post(EVENTS, secret_body, format="json")
    assert refused.status_code == 401
    assert refused.json()["code"] == "authentication_failed"
    lines = request_lines()
    assert len(lines) == 2
    text = "\n".join(lines)
    for secret in (token, token.split(".")[1], token[:-3], "very-secret-domain", "pw-in-body"):
        assert secret not in text
    assert "Bearer" not in text and "authorization" not in text.lower()
    accepted, rejected = (json.loads(line) for line in lines)
    assert (accepted["sub"], accepted["tenant"], accepted["status"]) == ("writer", "t1", 201)
    assert (rejected["sub"], rejected["tenant"], rejected["status"]) == (None, None, 401)


def test_an_operator_logs_an_empty_tenant_and_anonymous_logs_none(
    operator_client, anon_client, request_lines
):
    assert operator_client.get("/v1/operations/hub").status_code == 200
    assert anon_client.get("/healthz").status_code == 200
    operator, anonymous = (json.loads(line) for line in request_lines())
    assert (operator["sub"], operator["tenant"], operator["route"]) == (
        "operator",
        "",
        "v1/operations/hub",
    )
    assert (anonymous["sub"], anonymous["tenant"], anonymous["route"]) == (None, None, "healthz")


@pytest.mark.django_db
def test_a_staff_session_is_logged_as_its_user(request_lines):
    users = get_user_model()
    root = users.objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client = APIClient()
    client.force_login(root)
    response = client.get("/admin/console/")
    assert response.status_code == 200
    [line] = request_lines()
    logged = json.loads(line)
    assert (logged["sub"], logged["tenant"], logged["route"]) == ("root", "", "admin/console/")
    assert "sessionid" not in line


def test_hostile_values_in_the_principal_stay_one_valid_json_line(make_client, request_lines):
    client = make_client(["outcomes:read"], tenant='t"1\n\u2028', sub="bot\u00e9\U0001d11e\\")
    response = client.get(f"{EVENTS}?limit=1")
    assert response.status_code == 200
    assert response.json() == []
    [line] = request_lines()
    assert "\n" not in line and "\u2028" not in line
    logged = json.loads(line)
    assert (logged["sub"], logged["tenant"]) == ("bot\u00e9\U0001d11e\\", 't"1\n\u2028')
