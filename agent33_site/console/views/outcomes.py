"""Outcomes page: per tenant (or all) and domain, the four trends as inline SVG charts,
summary counts, week over week, top failure modes and recent events.

One `OutcomesService.dashboard` call computes what the API's dashboard returns (the
numbers and direction badges); the charts draw each tenant's own last `window` values as
one line over a date axis, so the all-tenants view never interleaves tenants.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from outcomes.domain import (
    DOMAIN_ALL,
    LOWER_IS_BETTER,
    MetricType,
    OutcomeTrend,
    TrendDirection,
    WeekOverWeek,
)
from outcomes.services import OutcomesService, get_outcomes_service

from ..access import read_tenant
from ..charts import PALETTE, Series, time_chart
from ..forms import OutcomesFilterForm
from .common import render_page

DEFAULT_WINDOW = 120  # two weeks of demo runs per tenant; the API default is 20
RECENT_LIMIT = 15
TENANT_SAMPLE = 1000  # recent events read to offer the tenants that report outcomes
ALL_TENANTS = "all"
OPERATOR_LABEL = "(operator)"
MAX_CHART_TENANTS = len(PALETTE)  # one distinct colour per line; pick a tenant for the others

STROKE_BY_DIRECTION = {
    TrendDirection.IMPROVING: "#2e7d32",
    TrendDirection.STABLE: "#607d8b",
    TrendDirection.DECLINING: "#c62828",
}


def outcomes_dashboard(request: HttpRequest) -> HttpResponse:
    service = get_outcomes_service()
    form = OutcomesFilterForm(request.GET or None, initial={"window": DEFAULT_WINDOW})
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    tenant = filters.get("tenant") or ""
    tenant_id = None if tenant == ALL_TENANTS else read_tenant(request, tenant)
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
    # Operators may record events too (tenant ""): they get a line, not a picker entry.
    charted = [tenant_id] if tenant_id else sorted(tenants)[:MAX_CHART_TENANTS]
    tenants.discard("")
    charts = [
        {
            "trend": trend,
            "svg": _trend_chart(service, trend, tenants=charted, domain=domain, window=window),
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
            "charted_tenants": charted,
            "more_tenants": max(0, len(tenants) - len([t for t in charted if t])),
        },
    )


def _trend_chart(
    service: OutcomesService,
    trend: OutcomeTrend,
    *,
    tenants: list[str],
    domain: str | None,
    window: int,
) -> str:
    """One line per tenant: its last `window` values of the metric, placed by date.

    A single tenant's line takes its trend's colour; several tenants take one colour each.
    """
    metric: MetricType = trend.metric_type
    series = []
    for index, tenant in enumerate(tenants):
        events = service.list_events(
            tenant_id=tenant, metric_type=metric, domain=domain, limit=window
        )
        stroke = STROKE_BY_DIRECTION[trend.direction] if len(tenants) == 1 else PALETTE[index]
        points = [(event.occurred_at, event.value) for event in events]
        series.append(Series(label=tenant or OPERATOR_LABEL, points=points, stroke=stroke))
    return time_chart(series, title=f"{metric.value} ({trend.direction.value})")


def _change_class(row: WeekOverWeek) -> str:
    """ "up" (green) when the change is an improvement; lower latency and cost are better."""
    if row.pct_change == 0:
        return ""
    better = (row.pct_change < 0) == (row.metric_type in LOWER_IS_BETTER)
    return "up" if better else "down"
