"""What one `/metrics` scrape exposes, and the multi-process set-up `manage.py serve` needs.

With `PROMETHEUS_MULTIPROC_DIR` set (several gunicorn workers), every worker writes its
counters to that directory and a scrape adds them up (prometheus-client's multiprocess
mode); without it (tests, `make run`), the process's default registry. Live processes by
type are read from the hub's sources at scrape time, all tenants at once: with `redis`
that state is shared, so it is reported once per scrape, never summed per process.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import redis
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

import agent33_core.metrics  # noqa: F401  defines the counters a scrape reads
from agent33_core.clock import utc_now
from operations.registry import registry
from operations.services import DEFAULT_SINCE

from .gunicorn_conf import MULTIPROC_ENV, OWN_DIR_PREFIX


class LiveProcessesCollector:
    """`agent33_operations_live_processes{type}`: the hub's default (live) view, counted."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "agent33_operations_live_processes",
            "Live processes by type, every tenant (what the operator's default hub view counts).",
            labels=["type"],
        )
        since = utc_now() - DEFAULT_SINCE
        try:
            for source in sorted(registry, key=lambda s: s.process_type):
                page = source.live_page(tenant_id=None, since=since, limit=1)
                family.add_metric([source.process_type], page.total)
        except redis.RedisError:
            return  # Redis does not answer: the scrape still serves every other metric
        yield family


class _ThisProcess:
    """The default registry as one collector of a scrape's registry."""

    def collect(self):
        return REGISTRY.collect()


def scrape(accept: str = "") -> tuple[bytes, str]:
    """Every metric of this host, in the format `accept` prefers (Prometheus text by
    default, OpenMetrics when asked), and its content type."""
    scraped = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(scraped)
    else:
        scraped.register(_ThisProcess())
    scraped.register(LiveProcessesCollector())
    encode, content_type = choose_encoder(accept)
    return encode(scraped), content_type


def prepare_multiprocess_dir(configured: str = "") -> str:
    """A directory with no metrics of an earlier start: the operator's (emptied of its
    `*.db` files), else a new temporary one. Call before the server processes start."""
    if not configured:
        return tempfile.mkdtemp(prefix=OWN_DIR_PREFIX)  # removed when gunicorn exits
    directory = Path(configured)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return str(directory)
