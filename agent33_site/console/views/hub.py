"""Operations hub pages: the process table with filters, a process's detail, its controls.

Everything goes through `OperationsHubService`, the same service the API's hub uses,
as an operator (`tenant_id=None`) unless the page narrows to one tenant.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from operations.services import get_operations_service

from ..access import actor, allows, read_tenant
from ..forms import HUB_LIMIT, ControlForm, HubFilterForm
from .common import found_or_404, render_page, run_action

CONTROL_SCOPE = "workflows:execute"


def hub_list(request: HttpRequest) -> HttpResponse:
    hub = get_operations_service()
    keys = hub.include_keys()
    form = HubFilterForm(request.GET or None, include_keys=keys, initial={"include": keys})
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    snapshot = hub.snapshot(
        tenant_id=read_tenant(request, filters.get("tenant")),
        include=filters.get("include") or None,
        since=filters.get("since"),
        status=filters.get("status") or None,
        limit=HUB_LIMIT,
    )
    return render_page(
        request,
        "console/hub_list.html",
        title="Operations hub",
        context={
            "form": form,
            "snapshot": snapshot,
            "tenants": sorted({p.tenant_id for p in snapshot.processes if p.tenant_id}),
            "statuses": hub.statuses(),
            "showing_status": filters.get("status") or "",
            "limit": HUB_LIMIT,
        },
    )


def hub_detail(request: HttpRequest, process_id: str) -> HttpResponse:
    detail = found_or_404(
        lambda: get_operations_service().detail(tenant_id=None, process_id=process_id)
    )
    return render_page(
        request,
        "console/hub_detail.html",
        title=f"Process {detail.id}",
        context={
            "process": detail,
            "can_control": allows(request, CONTROL_SCOPE),
            "control_form": ControlForm(),
        },
    )


def hub_control(request: HttpRequest, process_id: str) -> HttpResponse:
    form = ControlForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Invalid control: {form.errors.as_text()}")
    else:
        action = form.cleaned_data["action"]
        run_action(
            request,
            lambda: get_operations_service().control(
                tenant_id=None,
                process_id=process_id,
                action=action,
                reason=form.cleaned_data["reason"],
                actor=actor(request),
            ),
            success=f"Applied '{action}' to {process_id}.",
        )
    return HttpResponseRedirect(reverse("console:hub_detail", args=[process_id]))
