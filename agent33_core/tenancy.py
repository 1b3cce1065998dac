"""The tenancy rule (contract §2), decided here and nowhere else.

A caller is a tenant principal (`"acme"`) or an operator (`""`). A service receives
`tenant_id=`: the tenant a read is held to, or None for "every tenant" (operators only).
"""

from __future__ import annotations


def reading_tenant(caller_tenant: str | None, narrowed: str | None = None) -> str | None:
    """A tenant reads only its own records; an operator reads all (None) or narrows to one."""
    if caller_tenant:
        return caller_tenant
    return narrowed or None


def writing_tenant(caller_tenant: str | None) -> str:
    """Records are stamped with the caller's tenant; an operator's are stamped ""."""
    return caller_tenant or ""


def is_operator(caller_tenant: str | None) -> bool:
    return caller_tenant == ""
