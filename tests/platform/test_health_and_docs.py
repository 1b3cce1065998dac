"""Public health probes, the OpenAPI schema and the offline docs pages."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_is_public(anon_client):
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database(anon_client):
    response = anon_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


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
