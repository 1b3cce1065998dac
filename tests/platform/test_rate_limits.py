"""Per-principal rate limits (contract §1 `rate_limited`, §6): `AGENT33_RATE_LIMITS`, off by
default, 429 with `Retry-After`, counted in Django's cache (this process's memory, or Redis
shared by every process: see also tests/platform/test_metrics.py, two workers).

Rates here are per day, so a window boundary never falls inside a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from agent33_core.registry import services
from agent33_site.security.throttling import Rate, parse_rate_limits
from agent33_site.security.tokens import issue_token

ROOT = Path(__file__).resolve().parents[2]
WHOAMI = "/v1/whoami/"
EVENTS = "/v1/outcomes/events"
SCOPES = ["outcomes:read", "outcomes:write"]


@pytest.fixture(autouse=True)
def rate_limit_cache(state_backend: str, settings):
    """The cache `settings.py` configures for the session's backend, empty."""
    if state_backend == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": settings.AGENT33_REDIS_URL,
                "KEY_PREFIX": f"{settings.AGENT33_REDIS_PREFIX}:cache",
            }
        }
    services.reset_all()
    cache.clear()
    yield
    cache.clear()


def event() -> dict:
    return {"domain": "billing", "event_type": "invoke", "metric_type": "cost_usd", "value": 1}


def assert_rate_limited(response, *, window_seconds: int) -> None:
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "rate_limited"
    assert set(body) == {"detail", "code"}
    assert "throttled" in body["detail"]
    assert response["Retry-After"].isdigit()
    assert 1 <= int(response["Retry-After"]) <= window_seconds


# --- off by default ------------------------------------------------------------------------


def test_off_by_default(make_client, settings):
    assert settings.AGENT33_RATE_LIMITS == ""
    client = make_client(SCOPES, tenant="t1")
    statuses = {client.get(WHOAMI).status_code for _ in range(60)}
    assert statuses == {200}
    response = client.post(EVENTS, event(), format="json")
    assert response.status_code == 201
    assert "Retry-After" not in response


# --- the limit ------------------------------------------------------------------------------


@override_settings(AGENT33_RATE_LIMITS="3/day")
def test_the_request_over_the_limit_is_429_with_retry_after(make_client):
    client = make_client(SCOPES, tenant="t1")
    assert [client.get(WHOAMI).status_code for _ in range(3)] == [200, 200, 200]
    assert_rate_limited(client.get(WHOAMI), window_seconds=86400)
    # One limit for every request of the principal: writes are refused too, and store nothing.
    assert_rate_limited(client.post(EVENTS, event(), format="json"), window_seconds=86400)
    assert make_client(SCOPES, tenant="t1", sub="other").get(EVENTS).json() == []


@override_settings(AGENT33_RATE_LIMITS="2/day")
def test_another_principal_is_unaffected(make_client, operator_client):
    alice = make_client(SCOPES, tenant="t1", sub="alice")
    for _ in range(2):
        assert alice.get(WHOAMI).status_code == 200
    assert_rate_limited(alice.get(WHOAMI), window_seconds=86400)
    # The same sub in another tenant, another sub in the same tenant, an operator.
    same_sub_other_tenant = make_client(SCOPES, tenant="t2", sub="alice")
    other_sub = make_client(SCOPES, tenant="t1", sub="bob")
    for client in (same_sub_other_tenant, other_sub, operator_client):
        response = client.get(WHOAMI)
        assert response.status_code == 200
        assert response.json()["sub"] in {"alice", "bob", "operator"}
    # A new token of the same principal shares its count.
    again = make_client(SCOPES, tenant="t1", sub="alice")
    assert_rate_limited(again.get(WHOAMI), window_seconds=86400)


@override_settings(AGENT33_RATE_LIMITS="read=3/day,write=1/day")
def test_reads_and_writes_have_their_own_limits(make_client):
    client = make_client(SCOPES, tenant="t1")
    assert client.post(EVENTS, event(), format="json").status_code == 201
    assert_rate_limited(client.post(EVENTS, event(), format="json"), window_seconds=86400)
    listed = client.get(EVENTS)
    assert listed.status_code == 200
    assert len(listed.json()) == 1  # the refused write stored nothing
    assert client.get(WHOAMI).status_code == 200
    assert client.head(WHOAMI).status_code == 200  # HEAD is a read
    assert_rate_limited(client.get(WHOAMI), window_seconds=86400)


@override_settings(AGENT33_RATE_LIMITS="write=1/day")
def test_a_kind_left_out_is_not_limited(make_client):
    client = make_client(SCOPES, tenant="t1")
    assert client.post(EVENTS, event(), format="json").status_code == 201
    assert_rate_limited(client.post(EVENTS, event(), format="json"), window_seconds=86400)
    assert {client.get(WHOAMI).status_code for _ in range(20)} == {200}


@override_settings(AGENT33_RATE_LIMITS="4/day,write=10/day")
def test_a_plain_rate_and_a_kind_both_apply(make_client):
    client = make_client(SCOPES, tenant="t1")
    assert client.post(EVENTS, event(), format="json").status_code == 201
    assert [client.get(WHOAMI).status_code for _ in range(3)] == [200, 200, 200]
    assert_rate_limited(client.post(EVENTS, event(), format="json"), window_seconds=86400)


@override_settings(AGENT33_RATE_LIMITS="1/day")
def test_public_and_unauthenticated_requests_are_never_limited(anon_client, make_client):
    assert {anon_client.get("/healthz").status_code for _ in range(10)} == {200}
    refused = {anon_client.get(EVENTS).status_code for _ in range(5)}
    assert refused == {401}  # authentication answers first; nobody is counted
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt\u00e9")
    response = bad.get(EVENTS)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@override_settings(AGENT33_RATE_LIMITS="1/day")
def test_hostile_principal_names_are_counted_apart(make_client):
    names = ["\u00e9" * 200, "a b", "x" * 5000, "a:b", "\U0001d11e"]
    for name in names:
        client = make_client(SCOPES, tenant=name, sub=name)
        assert client.get(WHOAMI).status_code == 200
        assert_rate_limited(client.get(WHOAMI), window_seconds=86400)


@override_settings(AGENT33_RATE_LIMITS="10/day")
def test_concurrent_requests_admit_exactly_the_limit():
    """One atomic increment per request: 30 requests at once, exactly 10 admitted."""
    token = issue_token(sub="racer", scopes=SCOPES, tenant_id="t1")
    start = threading.Barrier(30)
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        start.wait()
        status = client.get(WHOAMI).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 10 + [429] * 20


def test_the_metrics_scrape_is_never_limited(operator_client, settings):
    settings.AGENT33_RATE_LIMITS = "1/day"
    assert operator_client.get(WHOAMI).status_code == 200
    assert_rate_limited(operator_client.get(WHOAMI), window_seconds=86400)
    assert {operator_client.get("/metrics").status_code for _ in range(3)} == {200}


# --- the setting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ("600/min", {"all": Rate(600, 60)}),
        ("1/s", {"all": Rate(1, 1)}),
        ("10/second", {"all": Rate(10, 1)}),
        ("5/hour", {"all": Rate(5, 3600)}),
        ("7/d", {"all": Rate(7, 86400)}),
        ("read=600/min,write=120/min", {"read": Rate(600, 60), "write": Rate(120, 60)}),
        (" read = 6/m , write=2/h ", {"read": Rate(6, 60), "write": Rate(2, 3600)}),
        ("100/min,write=10/min", {"all": Rate(100, 60), "write": Rate(10, 60)}),
    ],
)
def test_rate_limit_formats(raw, expected):
    assert parse_rate_limits(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "600",
        "0/min",
        "-1/min",
        "1.5/min",
        "1e3/min",
        "10/fortnight",
        "10/MIN",
        "10/",
        "/min",
        "\u0661\u0662/min",  # Arabic-Indic digits
        "read=1/min,read=2/min",
        "1/min,2/min",
        "admin=1/min",
        "read=",
        "600/min,",
        ",",
        "600 per minute",
        "\ud800/min",
    ],
)
def test_a_rate_limit_that_cannot_be_read_is_refused(raw):
    with pytest.raises(ImproperlyConfigured, match="AGENT33_RATE_LIMITS"):
        parse_rate_limits(raw)


def _start_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AGENT33_"))}
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default'].get('LOCATION'))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "agent33_site.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_setting_refuses_to_start_with_a_clear_error():
    started = _start_settings(AGENT33_RATE_LIMITS="100/fortnight")
    assert started.returncode == 1
    assert "ImproperlyConfigured" in started.stderr
    assert "AGENT33_RATE_LIMITS: cannot read '100/fortnight'" in started.stderr


def test_the_cache_follows_the_state_backend():
    memory = _start_settings(AGENT33_RATE_LIMITS="600/min")
    assert memory.returncode == 0, memory.stderr
    assert memory.stdout.split()[0] == "django.core.cache.backends.locmem.LocMemCache"
    shared = _start_settings(
        AGENT33_STATE_BACKEND="redis", AGENT33_REDIS_URL="redis://127.0.0.1:6390/2"
    )
    assert shared.returncode == 0, shared.stderr
    assert shared.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6390/2",
    ]


# --- the schema ------------------------------------------------------------------------------


def _responses(schema: dict, path: str, method: str) -> dict:
    return schema["paths"][path][method]["responses"]


def test_the_schema_documents_429_only_when_limits_are_on(settings):
    off = SchemaGenerator().get_schema(request=None, public=True)
    assert "429" not in _responses(off, "/v1/outcomes/events/", "get")
    # No operation promises a rate limit (the Error component lists every code there is).
    assert not [
        (path, method)
        for path, item in off["paths"].items()
        for method, operation in item.items()
        if "rate_limited" in str(operation.get("responses", {}))
    ]
    settings.AGENT33_RATE_LIMITS = "600/min"
    on = SchemaGenerator().get_schema(request=None, public=True)
    limited = _responses(on, "/v1/outcomes/events/", "get")["429"]
    assert "rate_limited" in limited["description"]
    assert limited["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    # A view's own 429 (the idempotency-key quota) keeps its text and gains the limit's.
    both = _responses(on, "/v1/outcomes/events/", "post")["429"]["description"]
    assert "quota_exceeded" in both and "rate_limited" in both
    assert "429" not in _responses(on, "/healthz", "get")  # public: never limited


def test_the_schema_with_limits_on_is_valid_and_warning_free(settings, tmp_path):
    from django.core.management import call_command

    settings.AGENT33_RATE_LIMITS = "read=600/min,write=120/min"
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "rate_limited" in target.read_text()
