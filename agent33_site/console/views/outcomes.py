"""Outcomes page: per tenant (or all) and domain, the four trends as inline SVG charts,
summary counts, week over week, top failure modes and recent events.

One `OutcomesService.dashboard` call computes what the API's dashboard returns; this
view only draws it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from outcomes.domain import DOMAIN_ALL, LOWER_IS_BETTER, TrendDirection, WeekOverWeek
from outcomes.services import get_outcomes_service

from ..access import read_tenant, require
from ..charts import line_chart
from ..forms import OutcomesFilterForm
from .common import render_page

READ_SCOPE = "outcomes:read"
DEFAULT_WINDOW = 120  # two weeks of demo runs per tenant; the API default is 20
RECENT_LIMIT = 15
TENANT_SAMPLE = 1000  # recent events read to offer the tenants that report outcomes
ALL_TENANTS = "all"

STROKE_BY_DIRECTION = {
    TrendDirection.IMPROVING: "#2e7d32",
    TrendDirection.STABLE: "#607d8b",
    TrendDirection.DECLINING: "#c62828",
}


def outcomes_dashboard(request: HttpRequest) -> HttpResponse:
    require(request, READ_SCOPE)
    service = get_outcomes_service()
    form = OutcomesFilterForm(request.GET or None, initial={"window": DEFAULT_WINDOW})
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    tenant = filters.get("tenant") or ""
    tenant_id = None if tenant == ALL_TENANTS else read_tenant(tenant)
    domain = filters.get("domain") or None
    window = filters.get("window") or DEFAULT_WINDOW

    dashboard = service.dashboard(
        tenant_id=tenant_id, domain=domain, window=window, recent_limit=RECENT_LIMIT
    )
    domains = (
        dashboard.summary.domains
        if domain is None
        else service.dashboard(tenant_id=tenant_id, window=1, recent_limit=0).summary.domains
    )
    tenants = {e.tenant_id for e in service.list_events(tenant_id=None, limit=TENANT_SAMPLE)}
    if tenant_id:
        tenants.add(tenant_id)
    tenants.discard("")
    charts = [
        {
            "trend": trend,
            "svg": line_chart(
                trend.values,
                title=f"{trend.metric_type.value} ({trend.direction.value})",
                stroke=STROKE_BY_DIRECTION[trend.direction],
            ),
        }
        for trend in dashboard.trends
    ]
    weeks = [{"row": row, "change": _change_class(row)} for row in dashboard.week_over_week]
    return render_page(
        request,
        "console/outcomes.html",
        title="Outcomes",
        context={
            "form": form,
            "dashboard": dashboard,
            "charts": charts,
            "weeks": weeks,
            "tenants": sorted(tenants),
            "domains": domains,
            "selected_tenant": tenant_id or ALL_TENANTS,
            "selected_domain": domain or DOMAIN_ALL,
            "window": window,
        },
    )


def _change_class(row: WeekOverWeek) -> str:
    """ "up" (green) when the change is an improvement; lower latency and cost are better."""
    if row.pct_change == 0:
        return ""
    better = (row.pct_change < 0) == (row.metric_type in LOWER_IS_BETTER)
    return "up" if better else "down"
