"""What every app returns is exactly what the schema describes, both ways.

Services answer with pydantic models that one renderer writes; DRF serializers only
describe them for the schema. With the demo data of all three apps loaded, every read
(and a write of each kind) is fetched over HTTP and walked against its documented
response: no undocumented key, no missing required key, the documented type and enum.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from multimodal.demo import seed_demo as seed_multimodal
from operations.demo import seed_demo as seed_operations
from outcomes.demo import seed_demo as seed_outcomes
from tests.conftest import bearer_client

from .conftest import reset_all_services

JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


@pytest.fixture(scope="module")
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def operator():
    reset_all_services()
    seed_operations()
    seed_multimodal()
    seed_outcomes()
    yield bearer_client(["admin"], sub="operator")
    reset_all_services()


def resolve(openapi: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return resolve(
            openapi, {**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}
        )
    return schema


def disagreements(openapi: dict, schema: dict, value: Any, where: str) -> list[str]:
    schema = resolve(openapi, schema)
    if not schema:  # a free-form value (e.g. inside `metadata`): anything JSON goes
        return []
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null but not nullable"]
    if "oneOf" in schema or "anyOf" in schema:
        options = schema.get("oneOf") or schema.get("anyOf")
        if any(not disagreements(openapi, option, value, where) for option in options):
            return []
        return [f"{where}: matches none of its alternatives"]
    problems = []
    expected = schema.get("type")
    if expected and not isinstance(value, JSON_TYPES[expected]):
        return [f"{where}: {type(value).__name__} where the schema says {expected}"]
    if expected in ("integer", "number") and isinstance(value, bool):
        return [f"{where}: boolean where the schema says {expected}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in its enum")
    if isinstance(value, dict) and "properties" in schema:
        documented, required = set(schema["properties"]), set(schema.get("required", ()))
        problems += [f"{where}.{key}: not documented" for key in sorted(set(value) - documented)]
        problems += [f"{where}.{key}: required, missing" for key in sorted(required - set(value))]
        for key in set(value) & documented:
            problems += disagreements(
                openapi, schema["properties"][key], value[key], f"{where}.{key}"
            )
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            problems += disagreements(
                openapi, schema["additionalProperties"], item, f"{where}.{key}"
            )
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += disagreements(openapi, schema["items"], item, f"{where}[{index}]")
    return problems


def documented_response(openapi: dict, method: str, url: str, status: int) -> dict:
    path = url.split("?", 1)[0]
    if not path.endswith("/"):
        path += "/"
    for template, item in openapi["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if method in item and re.match(pattern, path):
            content = item[method]["responses"][str(status)]["content"]
            return content["application/json"]["schema"]
    raise AssertionError(f"{method.upper()} {url} is not documented")


def first_id(client, url: str) -> str:
    records = client.get(url).json()
    assert records, url
    return records[0]["id"]


def test_every_read_and_write_matches_its_documented_response(openapi, operator):
    client = operator
    trace = first_id(client, "/v1/traces/")
    budget = first_id(client, "/v1/autonomy/budgets/")
    intake = first_id(client, "/v1/improvements/intakes/")
    run = first_id(client, "/v1/workflows/executions/")
    requests = client.get("/v1/multimodal/requests/?state=completed").json()
    completed = requests[0]["id"]
    reads = [
        "/v1/whoami",
        "/v1/outcomes/events",
        "/v1/outcomes/trends/cost_usd",
        "/v1/outcomes/dashboard",
        "/v1/outcomes/health",
        "/v1/traces/",
        f"/v1/traces/{trace}",
        "/v1/autonomy/budgets/",
        f"/v1/autonomy/budgets/{budget}",
        "/v1/improvements/intakes/",
        f"/v1/improvements/intakes/{intake}",
        "/v1/workflows/executions/",
        f"/v1/workflows/executions/{run}",
        "/v1/multimodal/requests/",
        f"/v1/multimodal/requests/{completed}",
        f"/v1/multimodal/requests/{completed}/result",
        "/v1/multimodal/tenants/acme/policy",
        "/v1/operations/hub",
        "/v1/operations/hub?status=completed",
        *(f"/v1/operations/processes/{i}" for i in (trace, budget, intake, run, completed)),
    ]
    problems = []
    for url in reads:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:200])
        schema = documented_response(openapi, "get", url, 200)
        problems += disagreements(openapi, schema, response.json(), f"GET {url}")
    writes = [
        (
            "/v1/outcomes/events",
            {"domain": "d", "event_type": "e", "metric_type": "cost_usd", "value": 1},
            201,
        ),
        (
            "/v1/outcomes/roi",
            {"domain": "d", "hours_saved_per_success": 1, "cost_per_hour_usd": 2},
            200,
        ),
        ("/v1/traces/", {"task_id": "t", "agent_id": "a"}, 201),
        (f"/v1/traces/{trace}/actions", {"step_id": "s", "action_id": "a", "tool": "t"}, 201),
        ("/v1/autonomy/budgets/", {"task_id": "t"}, 201),
        ("/v1/improvements/intakes/", {"title": "t"}, 201),
        (
            "/v1/workflows/executions/",
            {"workflow_name": "w", "trigger_type": "api", "status": "running"},
            201,
        ),
        (f"/v1/workflows/executions/{run}/events", {"step_id": "s", "type": "step_started"}, 201),
        ("/v1/multimodal/requests/", {"modality": "text_to_speech", "input_text": "hi"}, 201),
        (f"/v1/operations/processes/{budget}/control", None, None),
    ]
    for url, body, status in writes:
        if body is None:  # a control: whichever the budget's state allows, or a 409
            detail = client.get(f"/v1/operations/processes/{budget}").json()
            if not detail["controls"]:
                continue
            body, status = {"action": detail["controls"][0]}, 200
        response = client.post(url, body, format="json")
        assert response.status_code == status, (url, response.content[:200])
        schema = documented_response(openapi, "post", url, status)
        problems += disagreements(openapi, schema, response.json(), f"POST {url}")
    assert problems == []


def test_every_experiment_read_and_write_matches_its_documented_response(openapi, operator):
    client = operator
    writes = [
        (
            "/v1/outcomes/experiments",
            {
                "key": "agreement",
                "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}],
                "metric_types": ["success_rate", "cost_usd"],
            },
            201,
        ),
        ("/v1/outcomes/experiments/agreement/assignments", {"subject_id": "s-1"}, 201),
        ("/v1/outcomes/experiments/agreement/assignments", {"subject_id": "s-1"}, 200),
    ]
    for index in range(6):
        body = {
            "domain": "d",
            "event_type": "e",
            "metric_type": "cost_usd",
            "value": index,
            "metadata": {"experiment": "agreement", "subject_id": f"s-{index}"},
        }
        writes.append(("/v1/outcomes/events", body, 201))
    problems = []
    for url, body, status in writes:
        response = client.post(url, body, format="json")
        assert response.status_code == status, (url, response.content[:200])
        schema = documented_response(openapi, "post", url, status)
        problems += disagreements(openapi, schema, response.json(), f"POST {url}")
    reads = [
        "/v1/outcomes/experiments",
        "/v1/outcomes/experiments/agreement",
        "/v1/outcomes/experiments/agreement/assignments/s-1",
        "/v1/outcomes/experiments/agreement/report",
        "/v1/outcomes/experiments/agreement/report?since=2020-01-01T00:00:00Z",
    ]
    for url in reads:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:200])
        schema = documented_response(openapi, "get", url, 200)
        problems += disagreements(openapi, schema, response.json(), f"GET {url}")
    assert problems == []
