"""OpenAPI pieces: the bearer security scheme and the shared error responses.

Views declare the error statuses they can return (e.g. `409: OpenApiResponse(...)`)
without a body schema; `document_error_responses` gives every 4xx/5xx the named
`Error` component and adds the statuses every operation of a kind can return.
"""

from __future__ import annotations

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
            "invalid_transition, unsupported_action, payload_too_large, server_error",
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


def _error_content() -> dict:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def document_error_responses(result: dict, generator, request, public: bool) -> dict:
    """Postprocessing hook: the `Error` component on every error response."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            secured = any(requirement for requirement in operation.get("security", [{}]))
            needed = set()
            if secured:
                needed |= {"401", "403"}
            if operation.get("requestBody"):
                needed |= {"400", "413"}
            if any(p.get("in") == "query" for p in operation.get("parameters", [])):
                needed.add("400")
            if "{" in path:
                needed.add("404")
            for status_code in needed:
                responses.setdefault(status_code, {"description": _DESCRIPTIONS[status_code]})
            for status_code, response in responses.items():
                if status_code[0] in "45":
                    response["content"] = _error_content()
                    response.setdefault("description", _DESCRIPTIONS.get(status_code, ""))
                    if not response["description"]:
                        response["description"] = _DESCRIPTIONS.get(status_code, "Error.")
    return result


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
