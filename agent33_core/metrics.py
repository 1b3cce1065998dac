"""The service's Prometheus metrics, defined once so every app counts into the same ones.

prometheus-client keeps them per process; with several server processes
(`PROMETHEUS_MULTIPROC_DIR` set, as `manage.py serve` does) each process writes its values
to that directory and `/metrics` adds them up, so one scrape sees the whole host.
Live processes by type are not kept here: `/metrics` reads them from the hub's sources at
scrape time (agent33_site/observability/prometheus.py), once for all processes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# `*_created` series double a scrape and are not kept in multiprocess mode anyway.
disable_created_metrics()

EVENTS_INGESTED = Counter(
    "agent33_outcome_events_ingested",
    "Outcome events recorded (idempotent replays not counted).",
    ["metric_type"],
)
ADAPTER_RUNS = Counter(
    "agent33_multimodal_adapter_runs",
    "Multimodal adapter runs, by modality and outcome (completed or failed).",
    ["modality", "outcome"],
)
ADAPTER_DURATION = Histogram(
    "agent33_multimodal_adapter_duration_seconds",
    "How long a multimodal adapter run took.",
    ["modality"],
)
STREAM_SUBSCRIBERS = Gauge(
    "agent33_operations_stream_subscribers",
    "Open /v1/operations/stream connections.",
    multiprocess_mode="livesum",
)
HTTP_REQUESTS = Counter(
    "agent33_http_requests",
    "HTTP requests answered, by route (the URL pattern, never the raw path), method and status.",
    ["route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "agent33_http_request_duration_seconds",
    "Time from the first middleware to the response, by route and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def count_ingested_event(metric_type: str) -> None:
    """One outcome event recorded (`labels()` looked up once per metric type)."""
    child = _ingested.get(metric_type)
    if child is None:
        child = _ingested[metric_type] = EVENTS_INGESTED.labels(metric_type)
    child.inc()


_ingested: dict[str, Counter] = {}


def record_adapter_run(*, modality: str, failed: bool, seconds: float) -> None:
    """One finished adapter run (a timeout is a failure)."""
    ADAPTER_RUNS.labels(modality, "failed" if failed else "completed").inc()
    ADAPTER_DURATION.labels(modality).observe(seconds)
