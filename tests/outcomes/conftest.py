"""A fresh outcomes service for every test, clients for two tenants and an operator,
and `post_event` to record through the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from agent33_core.registry import services

READ_WRITE = ["outcomes:read", "outcomes:write"]
EVENTS = "/v1/outcomes/events"
DASHBOARD = "/v1/outcomes/dashboard"
ROI = "/v1/outcomes/roi"
HEALTH = "/v1/outcomes/health"


def trend_url(metric: str) -> str:
    return f"/v1/outcomes/trends/{metric}"


def ago(**delta: float) -> str:
    """An ISO-8601 time that far in the past."""
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


@pytest.fixture(autouse=True)
def _fresh_outcomes_service():
    services.reset_all()
    yield
    services.reset_all()


@pytest.fixture
def tenant_a(make_client) -> APIClient:
    return make_client(READ_WRITE, tenant="tenant-a", sub="alice")


@pytest.fixture
def tenant_b(make_client) -> APIClient:
    return make_client(READ_WRITE, tenant="tenant-b", sub="bob")


@pytest.fixture
def operator(make_client) -> APIClient:
    return make_client(READ_WRITE, sub="operator")


PostEvent = Callable[..., dict[str, Any]]


@pytest.fixture
def post_event() -> PostEvent:
    """`post_event(client, value=..., metric_type=..., ...)`: 201 asserted, the event returned."""

    def post(client: APIClient, **fields: Any) -> dict[str, Any]:
        body = {
            "domain": "support",
            "event_type": "ticket_resolved",
            "metric_type": "success_rate",
            "value": 1.0,
            **fields,
        }
        response = client.post(EVENTS, body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return post
