"""Which tenant a request reads or writes as (contract §2), for every view of this app.

A tenant principal is held to its own tenant; an operator (`request.tenant_id == ""`)
reads every tenant (None) or narrows with `?tenant_id=`, and writes as tenant "".
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from agent33_core.fields import TenantQuerySerializer

EMPTY_QUERY_VALUE = "May not be empty."


class StrictQuery(TenantQuerySerializer):
    """agent33_core's `?tenant_id=`, plus contract §1's rule that a query value is never empty.

    DRF treats `?limit=` like an absent parameter (the default applies); the contract
    makes it a 400, for every declared parameter of every query of this app.
    """

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        getlist = getattr(data, "getlist", None)
        empty = {
            name: [EMPTY_QUERY_VALUE]
            for name in self.fields
            if name in data
            and any(value == "" for value in (getlist(name) if getlist else [data[name]]))
        }
        if empty:
            raise serializers.ValidationError(empty)
        return super().to_internal_value(data)


def read_tenant(request: Request, narrowed: str | None = None) -> str | None:
    tenant = getattr(request, "tenant_id", None) or ""
    if tenant:
        return tenant
    return narrowed or None


def write_tenant(request: Request) -> str:
    return getattr(request, "tenant_id", None) or ""


def actor(request: Request) -> str:
    return getattr(request.auth, "sub", "") or ""
