"""Schemathesis fuzzes every operation of the schema against the WSGI app, in process.

Positive and negative cases, a fixed seed and a bounded number of examples per operation;
each response must not be a 5xx, must carry a documented status and content type, and its
body must match the documented schema. An admin operator token authenticates every call.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agent33_site.security.tokens import issue_token
from agent33_site.wsgi import application

from .conftest import reset_all_services

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
EXAMPLES_PER_OPERATION = 25
STREAM_PATH = "/v1/operations/stream"
STREAM_READ_SECONDS = 0.2

# Records seeded before the run, by path prefix: a generated `{id}` is swapped for a real
# one half of the time, so detail, transition and control endpoints get past their 404.
SEEDED_IDS: dict[str, list[str]] = {}
SEED_REQUESTS = {
    "/v1/traces/": ("/v1/traces/", {"task_id": "fuzz-task", "agent_id": "fuzz-agent"}),
    "/v1/autonomy/budgets/": (
        "/v1/autonomy/budgets/",
        {"task_id": "fuzz-task", "agent_id": "fuzz-agent"},
    ),
    "/v1/improvements/intakes/": ("/v1/improvements/intakes/", {"title": "Fuzz intake"}),
    "/v1/workflows/executions/": (
        "/v1/workflows/executions/",
        {"workflow_name": "fuzz-flow", "trigger_type": "manual", "status": "running"},
    ),
    "/v1/multimodal/requests/": (
        "/v1/multimodal/requests/",
        {"modality": "text_to_speech", "input_text": "fuzz", "execute_now": False},
    ),
}

# The database marker makes pytest-django create the test database even when this module
# runs alone: `/readyz` asks it whether migrations are applied.
pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/v1/schema/?format=json", application)


@schema.hook
def flatmap_path_parameters(context, path_parameters: dict | None) -> st.SearchStrategy:
    path = context.operation.path
    if not path_parameters or "id" not in path_parameters:
        return st.just(path_parameters)
    if path.startswith("/v1/operations/processes/"):
        known = [i for ids in SEEDED_IDS.values() for i in ids]
    else:
        known = next((ids for prefix, ids in SEEDED_IDS.items() if path.startswith(prefix)), [])
    if not known:
        return st.just(path_parameters)
    real = st.sampled_from(known).map(lambda i: {**path_parameters, "id": i})
    return st.one_of(st.just(path_parameters), real)


@pytest.fixture(scope="module")
def operator_headers() -> dict[str, str]:
    token = issue_token(sub="fuzzer", scopes=["admin"], ttl_seconds=3600)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module", autouse=True)
def _seeded_services_and_a_reachable_database(django_db_setup, django_db_blocker, operator_headers):
    """Fresh in-memory services with one record per source; `/readyz` may query the test DB."""
    reset_all_services()
    quick_heartbeat = override_settings(OPERATIONS_STREAM_HEARTBEAT_SECONDS=0.05)
    quick_heartbeat.enable()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=operator_headers["Authorization"])
    for prefix, (url, body) in SEED_REQUESTS.items():
        response = client.post(url, body, format="json")
        assert response.status_code == 201, (url, response.content)
        SEEDED_IDS[prefix] = [response.json()["id"]]
    with django_db_blocker.unblock():
        yield
    SEEDED_IDS.clear()
    quick_heartbeat.disable()
    reset_all_services()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # a fixed seed: the same cases on every run
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_operation_honours_its_schema(case, operator_headers):
    # A stream never ends: read it for a moment (its heartbeats come every 0.05 s here).
    timeout = STREAM_READ_SECONDS if case.operation.path.startswith(STREAM_PATH) else None
    case.call_and_validate(headers=operator_headers, checks=CHECKS, timeout=timeout)
