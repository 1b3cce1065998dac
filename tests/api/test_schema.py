"""The OpenAPI schema is a product: committed, warning-free, and shaped for SDK generators."""

from __future__ import annotations

import difflib
import re

import pytest
from django.core.management import call_command

from .conftest import COMMITTED_SCHEMA

HTTP_METHODS = {"get", "put", "post", "patch", "delete"}
PUBLIC_PATHS = {"/healthz", "/readyz", "/v1/outcomes/health/"}
ERROR_REF = "#/components/schemas/Error"
NAMED_ENUMS = {
    "MetricType",
    "TrendDirection",
    "Modality",
    "RequestState",
    "ProcessType",
    "BudgetState",
    "TraceStatus",
    "ControlAction",
}
BOUNDED_QUERY_PARAMETERS = {"limit", "window", "recent_limit"}
OPERATION_ID = re.compile(r"^[a-z]+(_[a-z]+)+$")


def operations(openapi: dict):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_committed_schema_matches_what_the_code_generates(generated_schema_text):
    committed = COMMITTED_SCHEMA.read_text() if COMMITTED_SCHEMA.exists() else ""
    if committed != generated_schema_text:
        diff = difflib.unified_diff(
            committed.splitlines(),
            generated_schema_text.splitlines(),
            "schema.yml (committed)",
            "schema.yml (generated)",
            lineterm="",
            n=2,
        )
        excerpt = "\n".join(list(diff)[:80])
        pytest.fail(f"schema.yml is stale: run `make schema` and commit it.\n{excerpt}")


def test_schema_generation_is_valid_and_warning_free(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )


def test_every_operation_id_is_unique_and_snake_case(openapi):
    ids = [operation.get("operationId", "") for _, _, operation in operations(openapi)]
    assert [i for i in ids if not OPERATION_ID.match(i)] == []
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []


def test_every_operation_has_exactly_one_tag(openapi):
    untagged = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(openapi)
        if len(operation.get("tags", [])) != 1
    ]
    assert untagged == []


def test_every_error_response_is_the_named_error_component(openapi):
    wrong = []
    for path, method, operation in operations(openapi):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema != {"$ref": ERROR_REF}:
                    wrong.append(f"{method.upper()} {path} {status}")
    assert wrong == []
    error = openapi["components"]["schemas"]["Error"]
    assert error["required"] == ["detail", "code"]
    assert set(error["properties"]) == {"detail", "code", "errors"}


def test_statuses_every_operation_of_a_kind_can_return_are_documented(openapi):
    missing = []
    for path, method, operation in operations(openapi):
        expected = set()
        if operation["security"]:
            expected |= {"401", "403"}
        if "requestBody" in operation:
            expected |= {"400", "413"}
        parameters = operation.get("parameters", [])
        if any(p["in"] == "query" for p in parameters):
            expected.add("400")
        if any(p["in"] == "path" and "$ref" not in p["schema"] for p in parameters):
            expected.add("404")
        documented = set(operation["responses"])
        gaps = sorted(expected - documented) + (
            [] if any(s[0] == "2" for s in documented) else ["2xx"]
        )
        if gaps:
            missing.append(f"{method.upper()} {path}: {sorted(gaps)}")
    assert missing == []


def test_public_endpoints_need_no_credentials_and_every_other_needs_the_bearer(openapi):
    assert openapi["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    public, unsecured = set(), []
    for path, method, operation in operations(openapi):
        if operation["security"] == []:
            public.add(path)
        elif {"bearerAuth": []} not in operation["security"]:
            unsecured.append(f"{method.upper()} {path}")
    assert public == PUBLIC_PATHS
    assert unsecured == []


def test_enums_are_named_components_never_generated_names(openapi):
    schemas = openapi["components"]["schemas"]
    enum_components = {name for name, schema in schemas.items() if "enum" in schema}
    assert NAMED_ENUMS - enum_components == set()
    assert sorted(name for name in enum_components if name.endswith("Enum")) == []


def test_no_component_property_or_parameter_hides_an_anonymous_enum(openapi):
    inline = []
    for name, schema in openapi["components"]["schemas"].items():
        for prop, prop_schema in schema.get("properties", {}).items():
            if "enum" in prop_schema or "enum" in prop_schema.get("items", {}):
                inline.append(f"{name}.{prop}")
    for path, method, operation in operations(openapi):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            if "enum" in schema or "enum" in schema.get("items", {}):
                inline.append(f"{method.upper()} {path} ?{parameter['name']}")
    assert inline == []


def test_every_parameter_is_typed_and_limits_are_bounded(openapi):
    untyped, unbounded = [], []
    for path, method, operation in operations(openapi):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            where = f"{method.upper()} {path} {parameter['in']}:{parameter['name']}"
            if not ({"type", "$ref", "allOf"} & set(schema)):
                untyped.append(where)
            if parameter["name"] in BOUNDED_QUERY_PARAMETERS and not (
                "minimum" in schema and "maximum" in schema
            ):
                unbounded.append(where)
    assert untyped == []
    assert unbounded == []


def test_every_request_body_is_a_named_json_component(openapi):
    wrong = []
    for path, method, operation in operations(openapi):
        body = operation.get("requestBody")
        if body is None:
            continue
        schema = body.get("content", {}).get("application/json", {}).get("schema", {})
        if "$ref" not in schema or set(body["content"]) != {"application/json"}:
            wrong.append(f"{method.upper()} {path}")
    assert wrong == []
