"""Fresh services for every test, and clients with the workflow scopes."""

from __future__ import annotations

import pytest

from agent33_core.registry import services

ALL_WORKFLOW_SCOPES = [
    "workflows:read",
    "workflows:write",
    "workflows:execute",
    "multimodal:read",
    "multimodal:write",
]


@pytest.fixture(autouse=True)
def _fresh_services():
    """Every registered service starts empty (the hub tests create multimodal requests too)."""
    services.reset_all()
    yield


@pytest.fixture
def t1(make_client):
    """A tenant-t1 principal with every workflows scope."""
    return make_client(ALL_WORKFLOW_SCOPES, tenant="t1", sub="alice")


@pytest.fixture
def t2(make_client):
    return make_client(ALL_WORKFLOW_SCOPES, tenant="t2", sub="bob")
