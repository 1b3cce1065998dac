"""OpenAPI pieces: the bearer security scheme and the shared error responses.

Views declare the error statuses they can return (e.g. `409: OpenApiResponse(...)`)
without a body schema; `document_error_responses` gives every 4xx/5xx the named
`Error` component, adds the statuses every operation of a kind can return, marks
public operations as needing no credentials, and lets enum parameters reuse the
named enum components, so a generated SDK gets one type per enum.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_COMPONENT = {
    "type": "object",
    "description": "Every error body: a human sentence, a machine code, and field errors "
    "for validation failures.",
    "properties": {
        "detail": {"type": "string"},
        "code": {
            "type": "string",
            "description": "invalid, policy_violation, not_authenticated, "
            "authentication_failed, permission_denied, not_found, method_not_allowed, "
            "not_acceptable, unsupported_media_type, already_exists, invalid_transition, "
            "unsupported_action, payload_too_large, quota_exceeded, rate_limited, "
            "server_error, unavailable, stream_full, not_ready",
        },
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail", "code"],
}

_DESCRIPTIONS = {
    "400": "Invalid input (`invalid`); field errors in `errors`.",
    "401": "No credentials (`not_authenticated`) or a bad, expired or tampered token "
    "(`authentication_failed`).",
    "403": "Authenticated, but a required scope is missing (`permission_denied`).",
    "404": "No such record, or it belongs to another tenant (`not_found`).",
    "409": "The lifecycle refuses the change (`invalid_transition` / `unsupported_action`).",
    "413": "Request body over the configured size (`payload_too_large`).",
    "429": "Over this principal's rate limit (`rate_limited`); `Retry-After` says when to "
    "retry (seconds).",
}


class BearerJWTScheme(OpenApiAuthenticationExtension):
    target_class = "agent33_site.security.authentication.BearerJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "HS256 JWT with `sub`, `scopes`, `tenant_id`, `exp`; "
            "get one with `python manage.py issue_token`.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "agent33_site.security.authentication.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "Django staff session from /admin/login/ (browsable API, console).",
        }


def _error_content() -> dict:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _statuses_every_operation_can_return(path: str, operation: dict) -> set[str]:
    needed = set()
    if any(requirement for requirement in operation.get("security", [])):
        needed |= {"401", "403"}
        if settings.AGENT33_RATE_LIMITS:  # documented only when the limits are on
            needed.add("429")
    if operation.get("requestBody"):
        needed |= {"400", "413"}
    if any(p.get("in") == "query" for p in operation.get("parameters", [])):
        needed.add("400")
    if any(_names_a_record(p) for p in operation.get("parameters", [])):
        needed.add("404")
    return needed


def _names_a_record(parameter: dict) -> bool:
    """A path id can miss (404); a path enum (`/trends/{metric_type}`) is validated (400)."""
    return parameter.get("in") == "path" and "enum" not in parameter.get("schema", {})


def _document_errors(path: str, operation: dict) -> None:
    responses = operation.setdefault("responses", {})
    for status_code in _statuses_every_operation_can_return(path, operation):
        documented = responses.setdefault(status_code, {"description": ""})
        if status_code == "429" and documented["description"]:  # a view's own 429 (a quota)
            documented["description"] += " Also: " + _DESCRIPTIONS["429"]
        elif not documented["description"]:
            documented["description"] = _DESCRIPTIONS[status_code]
    for status_code, response in responses.items():
        if status_code[0] in "45":
            response["content"] = _error_content()
            if not response.get("description"):
                response["description"] = _DESCRIPTIONS.get(status_code, "Error.")
    # Sorted by status, so the committed schema.yml does not depend on set order.
    operation["responses"] = dict(sorted(responses.items()))


def _enum_components(schemas: dict) -> dict[frozenset, str]:
    named = {}
    for name, schema in sorted(schemas.items()):
        if "enum" in schema and schema.get("type") == "string":
            named.setdefault(frozenset(schema["enum"]), name)
    return named


def _reuse_enum_components(operation: dict, enums: dict[frozenset, str]) -> None:
    """A query/path parameter whose choices are a named enum refers to that component."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        target = schema.get("items", schema) if schema.get("type") == "array" else schema
        name = enums.get(frozenset(target.get("enum", ())))
        if name is None:
            continue
        # The enum says it all: lengths of a choice are noise for an SDK generator.
        kept = {k: v for k, v in target.items() if k not in ("type", "enum", "minLength")}
        reference = {"$ref": f"#/components/schemas/{name}"}
        replacement = {"allOf": [reference], **kept} if kept else reference
        if target is schema:
            parameter["schema"] = replacement
        else:
            schema["items"] = replacement


def document_error_responses(result: dict, generator, request, public: bool) -> dict:
    """Postprocessing hook: errors, public operations and enum parameters (see module doc)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_COMPONENT
    enums = _enum_components(schemas)
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not any(requirement for requirement in operation.get("security", [])):
                operation["security"] = []  # public: say so, a missing key reads as "unknown"
            _document_errors(path, operation)
            _reuse_enum_components(operation, enums)
    return result
