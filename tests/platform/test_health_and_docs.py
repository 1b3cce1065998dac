"""Public health probes, the OpenAPI schema and the offline docs pages."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from agent33_site.api.views import ReadyView

pytestmark = pytest.mark.django_db


def test_healthz_is_public(anon_client):
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database(anon_client):
    response = anon_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_is_503_while_a_migration_is_unapplied(anon_client, monkeypatch):
    monkeypatch.setattr(ReadyView, "migrated", False)  # forget an earlier "migrated" answer
    MigrationRecorder(connection).migration_qs.filter(app="sessions").delete()
    response = anon_client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "detail": (
            "Database migrations are not applied (1 pending): run `python manage.py migrate`."
        ),
        "code": "not_ready",
    }
    assert ReadyView.migrated is False


def test_schema_is_openapi_3_with_the_bearer_scheme(anon_client):
    response = anon_client.get("/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail", "code"]
    assert schema["paths"]["/healthz"]["get"].get("security", []) == []


@pytest.mark.parametrize("page", ["/v1/docs/", "/v1/redoc/"])
def test_docs_pages_load_their_assets_from_this_server(anon_client, page):
    response = anon_client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html


def test_sidecar_assets_are_served_by_the_app(anon_client):
    response = anon_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")
    assert response.status_code == 200


def _external_urls(html: str) -> list[str]:
    """Absolute http(s) URLs in the page (SVG's xmlns is a name, never fetched)."""
    return [
        url
        for url in re.findall(r"https?://[^\s\"'<>)]+", html)
        if not url.startswith("http://www.w3.org/")
    ]


@pytest.mark.parametrize("page", ["/v1/docs/", "/v1/redoc/"])
def test_docs_pages_name_no_external_url(anon_client, page):
    response = anon_client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert _external_urls(html) == []
    assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html


@pytest.mark.parametrize("page", ["/v1/docs/", "/v1/redoc/"])
def test_docs_inline_script_carries_the_nonce_of_the_csp_header(anon_client, page):
    response = anon_client.get(page)
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy).group(1)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.content.decode())
    assert inline == [f' nonce="{nonce}"']


def test_readyz_with_redis_answers_while_redis_does(anon_client, settings, redis_server):
    settings.AGENT33_STATE_BACKEND = "redis"
    settings.AGENT33_REDIS_URL = redis_server.url
    response = anon_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_with_redis_is_503_when_redis_does_not_answer(anon_client, settings):
    from tests.redis_server import free_port

    settings.AGENT33_STATE_BACKEND = "redis"
    settings.AGENT33_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = anon_client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"detail": "Redis does not answer.", "code": "not_ready"}


@pytest.fixture
def dead_redis(settings):
    """The Redis backend pointed at a port nobody listens on; services rebuilt around it."""
    from agent33_core.registry import services
    from tests.redis_server import free_port

    settings.AGENT33_STATE_BACKEND = "redis"
    settings.AGENT33_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    services.reset_all()
    yield
    services.reset_all()  # the next test builds its services on its own settings


def test_an_api_call_while_redis_does_not_answer_is_a_503_to_retry(make_client, dead_redis):
    response = make_client(["workflows:read"], tenant="acme").get("/v1/traces")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "detail": "The state store (Redis) does not answer; retry shortly.",
        "code": "unavailable",
    }
