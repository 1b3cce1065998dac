"""Experiments pages: every experiment (newest first), and one experiment's report.

The report page draws, per tracked metric, the variants side by side with their mean and
95 % interval (`charts.interval_chart`), each comparison's verdict coloured, and the
sample sizes; the numbers are exactly what `GET /v1/outcomes/experiments/{key}/report`
returns. Staff are operators: an experiment is named by its tenant and key.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode

from outcomes.domain import LOWER_IS_BETTER, MetricReport
from outcomes.experiments import get_experiment_service, is_key

from ..access import read_tenant
from ..charts import CONTROL_COLOUR, VERDICT_COLOURS, Interval, interval_chart
from .common import found_or_404, render_page

LIST_LIMIT = 200
OPERATOR_LABEL = "(operator)"


def experiment_list(request: HttpRequest) -> HttpResponse:
    read_tenant(request, None)  # staff only
    experiments = get_experiment_service().list_experiments(tenant_id=None, limit=LIST_LIMIT)
    rows = [
        {
            "experiment": experiment,
            "url": detail_url(experiment.tenant_id, experiment.key),
            "tenant": experiment.tenant_id or OPERATOR_LABEL,
        }
        for experiment in experiments
    ]
    return render_page(
        request, "console/experiments.html", title="Experiments", context={"rows": rows}
    )


def experiment_detail(request: HttpRequest, key: str) -> HttpResponse:
    tenant = read_tenant(request, request.GET.get("tenant") or None) or ""
    if not is_key(key):
        raise Http404("No such experiment.")
    service = get_experiment_service()
    experiment = found_or_404(lambda: service.get_experiment(tenant_id=tenant, key=key))
    report = service.report(tenant_id=tenant, key=key)
    metrics = [_metric_card(entry) for entry in report.metrics]
    return render_page(
        request,
        "console/experiment_detail.html",
        title=f"Experiment {key}",
        context={
            "experiment": experiment,
            "tenant": tenant or OPERATOR_LABEL,
            "metrics": metrics,
            "list_url": reverse("console:experiments"),
        },
    )


def detail_url(tenant: str, key: str) -> str:
    url = reverse("console:experiment_detail", args=[key])
    return f"{url}?{urlencode({'tenant': tenant})}" if tenant else url


def _metric_card(entry: MetricReport) -> dict:
    verdicts = {c.variant: c.verdict.value for c in entry.comparisons}
    intervals = [
        Interval(
            label=row.variant,
            n=row.n,
            mean=row.mean,
            low=row.ci95_low,
            high=row.ci95_high,
            colour=VERDICT_COLOURS[verdicts[row.variant]] if index else CONTROL_COLOUR,
        )
        for index, row in enumerate(entry.variants)
    ]
    direction = "lower is better" if entry.metric_type in LOWER_IS_BETTER else "higher is better"
    return {
        "entry": entry,
        "direction": direction,
        "svg": interval_chart(intervals, title=f"{entry.metric_type.value}: mean and 95 % CI"),
    }
