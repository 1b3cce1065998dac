"""Which tenant a request reads or writes as (contract §2), for every view of this app.

A tenant principal is held to its own tenant; an operator (`request.tenant_id == ""`)
reads every tenant (None) or narrows with `?tenant_id=`, and writes as tenant "".
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request


class TenantQuerySerializer(serializers.Serializer):
    tenant_id = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Operators only: narrow the read to one tenant (ignored for tenant principals).",
    )


def read_tenant(request: Request, narrowed: str | None = None) -> str | None:
    tenant = getattr(request, "tenant_id", None) or ""
    if tenant:
        return tenant
    return narrowed or None


def write_tenant(request: Request) -> str:
    return getattr(request, "tenant_id", None) or ""


def actor(request: Request) -> str:
    return getattr(request.auth, "sub", "") or ""
