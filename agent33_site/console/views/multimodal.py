"""Multimodal pages: requests with filters, a request's input and result, its execute and
cancel buttons, and the per-tenant policy form.

Everything goes through `MultimodalService`, the same service the API uses; which
buttons show comes from the lifecycle map in `multimodal.domain`, not from a copy of it.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from pydantic import ValidationError

from multimodal.domain import TRANSITIONS, Modality, RequestState, TenantPolicy
from multimodal.services import get_multimodal_service

from ..access import allows, read_tenant
from ..forms import MULTIMODAL_LIMIT, MultimodalFilterForm, PolicyForm, PolicyTenantForm
from .common import found_or_404, found_or_none, render_page, run_action

WRITE_SCOPE = "multimodal:write"
POLICY_SCOPE = "multimodal:admin"
RESULT_HIDDEN_KEYS = frozenset({"audio_base64"})  # played, not printed


def request_list(request: HttpRequest) -> HttpResponse:
    form = MultimodalFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    modality, state = filters.get("modality"), filters.get("state")
    records = get_multimodal_service().list_requests(
        tenant_id=read_tenant(request, filters.get("tenant")),
        modality=Modality(modality) if modality else None,
        state=RequestState(state) if state else None,
        limit=MULTIMODAL_LIMIT,
    )
    counts = {s.value: 0 for s in RequestState}
    for record in records:
        counts[record.state.value] += 1
    return render_page(
        request,
        "console/multimodal_list.html",
        title="Multimodal requests",
        context={
            "form": form,
            "requests": records,
            "counts": counts,
            "tenants": sorted({r.tenant_id for r in records if r.tenant_id}),
            "policy_form": PolicyTenantForm(),
            "limit": MULTIMODAL_LIMIT,
        },
    )


def request_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    service = get_multimodal_service()
    record = found_or_404(lambda: service.get_request(tenant_id=None, request_id=request_id))
    result = found_or_none(lambda: service.get_result(tenant_id=None, request_id=request_id))
    audio_url = ""
    output_rows: list[tuple[str, object]] = []
    if result is not None:
        audio = result.output_data.get("audio_base64")
        if isinstance(audio, str) and audio:
            audio_url = f"data:audio/wav;base64,{audio}"
        output_rows = [
            (key, value)
            for key, value in sorted(result.output_data.items())
            if key not in RESULT_HIDDEN_KEYS
        ]
    can_write = allows(request, WRITE_SCOPE)
    return render_page(
        request,
        "console/multimodal_detail.html",
        title=f"Multimodal request {record.id}",
        context={
            "record": record,
            "result": result,
            "audio_url": audio_url,
            "output_rows": output_rows,
            "can_execute": can_write and RequestState.PROCESSING in TRANSITIONS[record.state],
            "can_cancel": can_write and RequestState.CANCELLED in TRANSITIONS[record.state],
        },
    )


def _back_to_request(request_id: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("console:multimodal_detail", args=[request_id]))


def request_execute(request: HttpRequest, request_id: str) -> HttpResponse:
    record = run_action(
        request,
        lambda: get_multimodal_service().execute(tenant_id=None, request_id=request_id),
        success=f"Executed {request_id}.",
    )
    if record is not None and record.state is RequestState.FAILED:
        # The run happened (success message above) but the adapter failed: say why.
        messages.warning(request, f"The adapter failed: {record.error_message}")
    return _back_to_request(request_id)


def request_cancel(request: HttpRequest, request_id: str) -> HttpResponse:
    run_action(
        request,
        lambda: get_multimodal_service().cancel(tenant_id=None, request_id=request_id),
        success=f"Cancelled {request_id}.",
    )
    return _back_to_request(request_id)


def policy_pick(request: HttpRequest) -> HttpResponse:
    """The small "open a tenant's policy" form on the list page lands here."""
    form = PolicyTenantForm(request.GET or None)
    if form.is_valid():
        return HttpResponseRedirect(
            reverse("console:multimodal_policy", args=[form.cleaned_data["tenant"]])
        )
    return render_page(
        request,
        "console/multimodal_policy_pick.html",
        title="Multimodal policy",
        context={"form": form},
    )


def policy_edit(request: HttpRequest, tenant: str) -> HttpResponse:
    service = get_multimodal_service()
    can_edit = allows(request, POLICY_SCOPE)
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            saved = _save_policy(request, form, tenant)
            if saved:
                return HttpResponseRedirect(reverse("console:multimodal_policy", args=[tenant]))
    else:
        policy = service.get_policy(tenant_id=None, policy_tenant_id=tenant)
        form = PolicyForm(initial=policy.model_dump(mode="json"))
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return render_page(
        request,
        "console/multimodal_policy.html",
        title=f"Multimodal policy of tenant {tenant}",
        context={"form": form, "tenant": tenant, "can_edit": can_edit},
    )


def _save_policy(request: HttpRequest, form: PolicyForm, tenant: str) -> bool:
    """Replace the tenant's policy (the API's PUT); the model's own checks become form errors."""
    try:
        policy = TenantPolicy.model_validate(form.cleaned_data)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else None
            form.add_error(field if field in form.fields else None, error["msg"])
        return False
    run_action(
        request,
        lambda: get_multimodal_service().replace_policy(
            tenant_id=None, policy_tenant_id=tenant, policy=policy
        ),
        success=f"Saved the multimodal policy of tenant {tenant}.",
    )
    return True
