"""Fresh operations services for every test, and clients with the workflow scopes."""

from __future__ import annotations

import pytest

from operations.services import reset_operations_service
from operations.sources.budgets.services import reset_budgets_service
from operations.sources.intakes.services import reset_intakes_service
from operations.sources.traces.services import reset_traces_service
from operations.sources.workflows.services import reset_workflow_runs_service

ALL_WORKFLOW_SCOPES = [
    "workflows:read",
    "workflows:write",
    "workflows:execute",
    "multimodal:read",
    "multimodal:write",
]


def _reset_multimodal() -> None:
    """The hub tests create multimodal requests too; start those from empty as well."""
    try:
        from multimodal.services import reset_multimodal_service
    except ImportError:  # the multimodal app is optional for the hub
        return
    reset_multimodal_service()


@pytest.fixture(autouse=True)
def _fresh_operations_services():
    for reset in (
        reset_operations_service,
        reset_traces_service,
        reset_budgets_service,
        reset_intakes_service,
        reset_workflow_runs_service,
        _reset_multimodal,
    ):
        reset()
    yield


@pytest.fixture
def t1(make_client):
    """A tenant-t1 principal with every workflows scope."""
    return make_client(ALL_WORKFLOW_SCOPES, tenant="t1", sub="alice")


@pytest.fixture
def t2(make_client):
    return make_client(ALL_WORKFLOW_SCOPES, tenant="t2", sub="bob")
