"""The service's Prometheus metrics, defined once so every app counts into the same ones.

prometheus-client keeps them per process; with several server processes
(`PROMETHEUS_MULTIPROC_DIR` set, as `manage.py serve` does) each process writes its values
to that directory and `/metrics` adds them up, so one scrape sees the whole host.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
