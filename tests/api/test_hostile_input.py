"""Contract §1's write invariant, attacked: no body a tenant can send breaks anyone's reads.

For every write endpoint, a battery of hostile bodies (lone surrogates in values and keys at
depth, `1e999`, `10**400`, NUL, RTL overrides, 1 MB strings, deep objects) goes into every
text and free-form field, as a tenant and as an operator. Each write must answer 2xx or a
JSON 4xx; afterwards every list, detail, dashboard, hub view and console page renders (2xx)
for the tenant, another tenant and the operator. Every read that takes a query or a path
key (the experiments', contract §8) is sent hostile texts there too: a JSON 4xx, never a 5xx.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.http import urlencode
from rest_framework.test import APIClient

from tests.conftest import bearer_client

from .conftest import reset_all_services

PLACEHOLDER = "__HOSTILE__"
DEEP = 200

# Raw JSON text for each hostile value: some cannot be written by json.dumps at all.
HOSTILE_VALUES: dict[str, str] = {
    "lone_surrogate": r'"\ud800"',
    "lone_low_surrogate_in_text": r'"ok \udfff ok"',
    "surrogate_deep_value": '{"a": [{"b": {"c": ["' + r"\ud83d" + '"]}}]}',
    "surrogate_deep_key": '{"a": {"b": [{"' + r"\udc00" + '": 1}]}}',
    "surrogate_key": '{"' + r"\ud800" + '": "v"}',
    "overflow_float": "1e999",
    "overflow_float_deep": '{"limits": {"n": [1e999]}}',
    "negative_overflow": "-1e999",
    "huge_integer": "1" + "0" * 400,
    "huge_integer_deep": '{"n": {"m": ' + "9" * 400 + "}}",
    "nul": r'"a\u0000b"',
    "nul_object": '{"k\\u0000": "v\\u0000"}',
    "rtl_override": '"\u202eevil\u202c"',
    "rtl_object": '{"\u202ekey": "\u202evalue"}',
    "megabyte_string": '"' + "x" * (1 << 20) + '"',
    "megabyte_object": '{"blob": "' + "y" * (1 << 20) + '"}',
    "deep_object": '{"d": ' * DEEP + "1" + "}" * DEEP,
    "number_for_text": "0",
    "boolean_for_text": "true",
    "padded_text": '"  padded  "',
}

TENANT = "acme"
OTHER_TENANT = "globex"
ALL_SCOPES = [
    "workflows:read",
    "workflows:write",
    "workflows:execute",
    "multimodal:read",
    "multimodal:write",
    "outcomes:read",
    "outcomes:write",
]


@dataclass(frozen=True)
class WriteEndpoint:
    """One write: its method, a path (maybe needing a record id), a valid body, the fields.

    A field may be a dotted path into the body (`variants.0.name`); `{id}` in the path or
    the body is the fresh record's id, `{n}` in the body a number new to every request.
    """

    name: str
    method: str
    path: str
    body: dict
    fields: tuple[str, ...]
    needs: str = ""  # the collection whose fresh record id fills `{id}`
    operator_only: bool = False
    headers: dict = field(default_factory=dict)


COLLECTIONS = {
    "traces": ("/v1/traces/", {"task_id": "t", "agent_id": "a"}),
    "budgets": ("/v1/autonomy/budgets/", {"task_id": "t", "agent_id": "a"}),
    "intakes": ("/v1/improvements/intakes/", {"title": "An intake"}),
    "runs": (
        "/v1/workflows/executions/",
        {"workflow_name": "w", "trigger_type": "manual", "status": "running"},
    ),
    "requests": (
        "/v1/multimodal/requests/",
        {"modality": "text_to_speech", "input_text": "hello", "execute_now": False},
    ),
    "experiments": (  # named by its key, not an id
        "/v1/outcomes/experiments",
        {"key": "exp-{n}", "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}]},
    ),
}
_FRESH = itertools.count()

WRITES = [
    WriteEndpoint(
        "outcome_event",
        "post",
        "/v1/outcomes/events",
        {"domain": "d", "event_type": "e", "metric_type": "cost_usd", "value": 1.0},
        ("domain", "event_type", "metric_type", "value", "occurred_at", "metadata"),
    ),
    WriteEndpoint(
        "outcome_event_idempotent",
        "post",
        "/v1/outcomes/events",
        {"domain": "d", "event_type": "e", "metric_type": "success_rate", "value": 1.0},
        ("metadata", "domain"),
        headers={"HTTP_IDEMPOTENCY_KEY": "hostile-key"},
    ),
    WriteEndpoint(
        "experiment",
        "post",
        "/v1/outcomes/experiments",
        {
            "key": "hostile-{n}",
            "variants": [{"name": "control", "weight": 1}, {"name": "candidate", "weight": 1}],
            "description": "d",
        },
        (
            "key",
            "variants",
            "variants.0.name",
            "variants.1.weight",
            "metric_types",
            "description",
        ),
    ),
    WriteEndpoint(
        "experiment_assignment",
        "post",
        "/v1/outcomes/experiments/{id}/assignments",
        {"subject_id": "user-{n}"},
        ("subject_id",),
        needs="experiments",
    ),
    WriteEndpoint(
        "experiment_joining_event",
        "post",
        "/v1/outcomes/events",
        {
            "domain": "d",
            "event_type": "e",
            "metric_type": "latency_ms",
            "value": 1.0,
            "metadata": {"experiment": "{id}", "subject_id": "user-{n}"},
        },
        ("metadata.experiment", "metadata.subject_id", "value", "occurred_at"),
        needs="experiments",
    ),
    WriteEndpoint(
        "roi",
        "post",
        "/v1/outcomes/roi",
        {"domain": "d", "hours_saved_per_success": 1, "cost_per_hour_usd": 1},
        ("domain", "hours_saved_per_success", "window_days"),
    ),
    WriteEndpoint(
        "trace",
        "post",
        "/v1/traces/",
        {"task_id": "t", "agent_id": "a"},
        ("task_id", "session_id", "run_id", "agent_id", "agent_role", "model"),
    ),
    WriteEndpoint(
        "trace_action",
        "post",
        "/v1/traces/{id}/actions",
        {"step_id": "s", "action_id": "a", "tool": "t", "status": "success", "duration_ms": 1},
        ("step_id", "action_id", "tool", "status", "duration_ms", "input_summary", "metadata"),
        needs="traces",
    ),
    WriteEndpoint(
        "trace_complete",
        "post",
        "/v1/traces/{id}/complete",
        {"status": "failed", "failure_code": "x", "failure_message": "y"},
        ("status", "failure_code", "failure_message"),
        needs="traces",
    ),
    WriteEndpoint(
        "budget",
        "post",
        "/v1/autonomy/budgets/",
        {"task_id": "t", "agent_id": "a"},
        ("task_id", "agent_id", "limits", "metadata"),
    ),
    WriteEndpoint(
        "budget_transition",
        "post",
        "/v1/autonomy/budgets/{id}/transition",
        {"to_state": "active"},
        ("to_state", "approved_by"),
        needs="budgets",
    ),
    WriteEndpoint(
        "intake",
        "post",
        "/v1/improvements/intakes/",
        {"title": "t"},
        ("title", "summary", "research_type", "urgency"),
    ),
    WriteEndpoint(
        "intake_transition",
        "post",
        "/v1/improvements/intakes/{id}/transition",
        {"to_status": "triaged"},
        ("to_status",),
        needs="intakes",
    ),
    WriteEndpoint(
        "run",
        "post",
        "/v1/workflows/executions/",
        {"workflow_name": "w", "trigger_type": "manual", "status": "running"},
        ("workflow_name", "trigger_type", "status", "started_at", "duration_ms", "error", "job_id"),
    ),
    WriteEndpoint(
        "run_event",
        "post",
        "/v1/workflows/executions/{id}/events",
        {"step_id": "s", "type": "step_started"},
        ("step_id", "type", "at"),
        needs="runs",
    ),
    WriteEndpoint(
        "control",
        "post",
        "/v1/operations/processes/{id}/control",
        {"action": "cancel", "reason": "r"},
        ("action", "reason"),
        needs="traces",
    ),
    WriteEndpoint(
        "multimodal_request",
        "post",
        "/v1/multimodal/requests/",
        {"modality": "text_to_speech", "input_text": "hi", "execute_now": False},
        (
            "modality",
            "input_text",
            "input_artifact_id",
            "input_artifact_base64",
            "requested_timeout_seconds",
            "requested_by",
            "execute_now",
        ),
    ),
    WriteEndpoint(
        "multimodal_execute",
        "post",
        "/v1/multimodal/requests/{id}/execute",
        {},
        ("anything",),
        needs="requests",
    ),
    WriteEndpoint(
        "multimodal_cancel",
        "post",
        "/v1/multimodal/requests/{id}/cancel",
        {},
        ("anything",),
        needs="requests",
    ),
    WriteEndpoint(
        "policy_put",
        "put",
        f"/v1/multimodal/tenants/{TENANT}/policy",
        {"max_text_chars": 100},
        ("max_text_chars", "max_artifact_bytes", "max_timeout_seconds", "allowed_modalities"),
        operator_only=True,
    ),
    WriteEndpoint(
        "policy_patch",
        "patch",
        f"/v1/multimodal/tenants/{TENANT}/policy",
        {"max_timeout_seconds": 100},
        ("max_text_chars", "allowed_modalities"),
        operator_only=True,
    ),
]


def raw_body(body: dict, field_name: str, hostile_json: str) -> str:
    """`body` as JSON text with `field_name` (maybe a dotted path into nested objects and
    lists) set to raw JSON json.dumps cannot produce."""
    body = json.loads(json.dumps(body))  # a copy to edit
    *parents, leaf = field_name.split(".")
    target = body
    for part in parents:
        target = target[int(part) if isinstance(target, list) else part]
    target[int(leaf) if isinstance(target, list) else leaf] = PLACEHOLDER
    text = json.dumps(body)
    return text.replace(json.dumps(PLACEHOLDER), hostile_json, 1)


def filled(body: dict, record_id: str = "") -> dict:
    """`body` with `{id}` set to `record_id` and `{n}` to a number new to this call."""
    text = json.dumps(body).replace("{id}", record_id).replace("{n}", str(next(_FRESH)))
    return json.loads(text)


def operator() -> APIClient:
    return bearer_client(["admin"], sub="operator")


def tenant_client(tenant: str) -> APIClient:
    return bearer_client(ALL_SCOPES, tenant=tenant, sub=f"{tenant}-integration")


def fresh_record_id(client: APIClient, collection: str) -> str:
    url, body = COLLECTIONS[collection]
    response = client.post(url, filled(body), format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    return created["key"] if collection == "experiments" else created["id"]


def attack(endpoint: WriteEndpoint, client: APIClient) -> list[tuple[str, str, int]]:
    """Send the whole battery; return (field, value name, status) for every response."""
    seen = []
    for field_name in endpoint.fields:
        for value_name, hostile_json in HOSTILE_VALUES.items():
            record_id = fresh_record_id(client, endpoint.needs) if endpoint.needs else ""
            path = endpoint.path.replace("{id}", record_id)
            headers = dict(endpoint.headers)
            if "HTTP_IDEMPOTENCY_KEY" in headers:
                headers["HTTP_IDEMPOTENCY_KEY"] = f"key-{field_name}-{value_name}"
            response = getattr(client, endpoint.method)(
                path,
                data=raw_body(filled(endpoint.body, record_id), field_name, hostile_json),
                content_type="application/json",
                **headers,
            )
            assert response.status_code < 500, (field_name, value_name, response.content[:300])
            assert response["Content-Type"].startswith("application/json"), (field_name, value_name)
            body = response.json()
            if response.status_code >= 400:
                assert set(body) >= {"detail", "code"}, body
                assert isinstance(body["detail"], str)
                body["detail"].encode("utf-8")  # never echoes undecodable text
            seen.append((field_name, value_name, response.status_code))
    return seen


# --- every read, for tenant, other tenant and operator ------------------------------------

METRICS = ("success_rate", "quality_score", "latency_ms", "cost_usd", "failure_class")
LISTS = (
    "/v1/outcomes/events?limit=1000",
    "/v1/outcomes/dashboard?recent_limit=100",
    "/v1/outcomes/health",
    "/v1/traces/?limit=500",
    "/v1/autonomy/budgets/?limit=500",
    "/v1/improvements/intakes/?limit=500",
    "/v1/workflows/executions/?limit=500",
    "/v1/multimodal/requests/?limit=500",
    "/v1/operations/hub",
    "/v1/operations/hub?status=running",
    "/v1/operations/hub?status=cancelled",
    "/v1/operations/hub?status=failed",
    "/v1/operations/hub?status=draft",
    "/v1/operations/hub?status=active",
    "/v1/operations/hub?status=expired",
    "/v1/operations/hub?status=submitted",
    "/v1/operations/hub?status=triaged",
    "/v1/operations/hub?status=pending",
    "/v1/operations/hub?status=completed",
    "/v1/whoami",
    "/v1/outcomes/experiments?limit=1000",
    *(f"/v1/outcomes/trends/{metric}" for metric in METRICS),
)
DETAIL_COLLECTIONS = {
    "/v1/traces/?limit=500": "/v1/traces/{}",
    "/v1/autonomy/budgets/?limit=500": "/v1/autonomy/budgets/{}",
    "/v1/improvements/intakes/?limit=500": "/v1/improvements/intakes/{}",
    "/v1/workflows/executions/?limit=500": "/v1/workflows/executions/{}",
    "/v1/multimodal/requests/?limit=500": "/v1/multimodal/requests/{}",
}


def assert_api_reads_render(client: APIClient, who: str) -> list[str]:
    ids: list[str] = []
    for url in LISTS:
        response = client.get(url)
        assert response.status_code == 200, (who, url, response.content[:300])
        json.loads(response.content)
    for list_url, detail in DETAIL_COLLECTIONS.items():
        for record in client.get(list_url).json():
            ids.append(record["id"])
            response = client.get(detail.format(record["id"]))
            assert response.status_code == 200, (who, record["id"], response.content[:300])
            process = client.get(f"/v1/operations/processes/{record['id']}")
            assert process.status_code == 200, (who, record["id"], process.content[:300])
            if list_url.startswith("/v1/multimodal") and record["result_id"]:
                result = client.get(f"/v1/multimodal/requests/{record['id']}/result")
                assert result.status_code == 200, (who, record["id"], result.content[:300])
    for experiment in client.get("/v1/outcomes/experiments?limit=1000").json():
        for url in experiment_urls(experiment):
            response = client.get(url)
            assert response.status_code == 200, (who, url, response.content[:300])
            json.loads(response.content)
    roi = client.post(
        "/v1/outcomes/roi",
        {"domain": "d", "hours_saved_per_success": 1, "cost_per_hour_usd": 1},
        format="json",
    )
    assert roi.status_code == 200, (who, roi.content[:300])
    for tenant in (TENANT, OTHER_TENANT):
        policy = client.get(f"/v1/multimodal/tenants/{tenant}/policy")
        assert policy.status_code in (200, 404), (who, policy.content[:300])
    return ids


def experiment_urls(experiment: dict) -> list[str]:
    """An experiment's detail and report, named by its tenant for an operator (a tenant's
    own reads ignore `tenant_id`)."""
    base = f"/v1/outcomes/experiments/{experiment['key']}"
    query = (
        f"?{urlencode({'tenant_id': experiment['tenant_id']})}" if experiment["tenant_id"] else ""
    )
    return [f"{base}{query}", f"{base}/report{query}"]


def assert_console_pages_render(ids: list[str]) -> None:
    staff = Client()
    user = get_user_model().objects.create_superuser("hostile-admin", "a@example.com", "pw-1x!")
    staff.force_login(user)
    pages = [
        "/admin/console/",
        "/admin/console/hub/",
        "/admin/console/hub/?status=running",
        f"/admin/console/hub/?tenant={TENANT}",
        "/admin/console/multimodal/",
        "/admin/console/multimodal/policies/",
        f"/admin/console/multimodal/policies/{TENANT}/",
        "/admin/console/outcomes/",
        f"/admin/console/outcomes/?tenant={TENANT}",
        "/admin/console/outcomes/experiments/",
        "/admin/",
    ]
    for experiment in operator().get("/v1/outcomes/experiments?limit=1000").json():
        query = urlencode({"tenant": experiment["tenant_id"]})
        pages.append(f"/admin/console/outcomes/experiments/{experiment['key']}/?{query}")
    pages += [f"/admin/console/hub/{i}/" for i in ids]
    pages += [f"/admin/console/multimodal/requests/{i}/" for i in ids if i.startswith("mmreq-")]
    for page in pages:
        response = staff.get(page)
        assert response.status_code == 200, (page, response.content[:300])


def assert_everything_renders() -> None:
    ids = assert_api_reads_render(operator(), "operator")
    assert_api_reads_render(tenant_client(TENANT), TENANT)
    assert_api_reads_render(tenant_client(OTHER_TENANT), OTHER_TENANT)
    assert_console_pages_render(ids)


@pytest.fixture(autouse=True)
def fresh_services():
    reset_all_services()
    yield
    reset_all_services()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", WRITES, ids=[w.name for w in WRITES])
def test_hostile_bodies_never_break_a_read(endpoint: WriteEndpoint):
    attackers: list[Callable[[], APIClient]] = [operator]
    if not endpoint.operator_only:
        attackers.insert(0, lambda: tenant_client(TENANT))
    outcomes = []
    for make in attackers:
        outcomes += attack(endpoint, make())
    # The battery really reached the service: unsafe JSON is refused, safe text is stored.
    by_value = {}
    for _field, value_name, status_code in outcomes:
        by_value.setdefault(value_name, set()).add(status_code)
    for unsafe in ("lone_surrogate", "surrogate_deep_key", "overflow_float", "huge_integer"):
        assert by_value[unsafe] == {400}, (unsafe, by_value[unsafe])
    assert_everything_renders()


def test_battery_values_are_what_they_claim():
    """The raw texts really hold what their names say (a typo would weaken every test)."""
    assert json.loads(HOSTILE_VALUES["lone_surrogate"]) == "\ud800"
    assert json.loads(HOSTILE_VALUES["overflow_float"]) == float("inf")
    assert json.loads(HOSTILE_VALUES["huge_integer"]) == 10**400
    assert json.loads(HOSTILE_VALUES["nul"]) == "a\x00b"
    assert list(json.loads(HOSTILE_VALUES["surrogate_key"])) == ["\ud800"]
    assert len(json.loads(HOSTILE_VALUES["megabyte_string"])) == 1 << 20


# --- hostile queries and path keys of the reads that take them --------------------------

# Raw URL text (already percent-encoded where it must be): what a query or path can carry.
HOSTILE_URL_TEXTS: dict[str, str] = {
    "lone_surrogate_utf8": "%ED%A0%80",
    "invalid_utf8": "%FF%FE",
    "nul": "a%00b",
    "rtl_override": "%E2%80%AEevil",
    "overflow_float": "1e999",
    "huge_integer": "9" * 400,
    "negative": "-1",
    "empty": "",
    "bad_date": "2026-13-45T99:99:99",
    "far_date": "99999-01-01T00:00:00Z",
    "dots": "..",
    "encoded_slash": "%2F",
    "json_object": "%7B%22a%22%3A1%7D",
    "long": "x" * 100_000,
}
EXPERIMENT_READS = (
    "/v1/outcomes/experiments?limit={}",
    "/v1/outcomes/experiments?tenant_id={}",
    "/v1/outcomes/experiments/{}",
    "/v1/outcomes/experiments/{}/report",
    "/v1/outcomes/experiments/{}/assignments/user-1",
    "/v1/outcomes/experiments/checkout?tenant_id={}",
    "/v1/outcomes/experiments/checkout/report?since={}",
    "/v1/outcomes/experiments/checkout/report?until={}",
    "/v1/outcomes/experiments/checkout/report?since=2026-01-01T00:00:00Z&until={}",
    "/v1/outcomes/experiments/checkout/assignments/{}",
)


@pytest.mark.django_db
def test_hostile_queries_and_path_keys_of_experiment_reads_are_json_4xx_at_worst():
    statuses: dict[tuple[str, str], set[int]] = {}
    for client in (tenant_client(TENANT), operator()):
        experiment = {"key": "checkout", "variants": COLLECTIONS["experiments"][1]["variants"]}
        assert client.post("/v1/outcomes/experiments", experiment, format="json").status_code == 201
        assignment = {"subject_id": "user-1"}
        path = "/v1/outcomes/experiments/checkout/assignments"
        assert client.post(path, assignment, format="json").status_code == 201
        for template in EXPERIMENT_READS:
            for value_name, text in HOSTILE_URL_TEXTS.items():
                response = client.get(template.format(text))
                assert response.status_code < 500, (template, value_name, response.content[:300])
                assert response["Content-Type"].startswith("application/json"), (
                    template,
                    value_name,
                )
                body = response.json()
                if response.status_code >= 400:
                    assert set(body) >= {"detail", "code"}, (template, value_name, body)
                    body["detail"].encode("utf-8")  # never echoes undecodable text
                statuses.setdefault((template, value_name), set()).add(response.status_code)
    # The texts really reached validation: refused where they are malformed.
    assert statuses["/v1/outcomes/experiments?limit={}", "overflow_float"] == {400}
    assert statuses["/v1/outcomes/experiments/checkout/report?since={}", "bad_date"] == {400}
    assert statuses["/v1/outcomes/experiments/{}", "dots"] == {404}
    assert statuses["/v1/outcomes/experiments/{}/report", "lone_surrogate_utf8"] == {404}
    assert statuses["/v1/outcomes/experiments/checkout/assignments/{}", "nul"] == {404}
