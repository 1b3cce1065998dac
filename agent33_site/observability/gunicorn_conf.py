"""gunicorn settings module for `manage.py serve` (`--config python:...gunicorn_conf`).

A worker that exits takes its live gauges with it (prometheus-client multiprocess mode);
its counters stay counted. A metrics directory `serve` made for this start goes when the
server stops (an operator's own `PROMETHEUS_MULTIPROC_DIR` stays).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OWN_DIR_PREFIX = "agent33-metrics-"  # what `prometheus.prepare_multiprocess_dir` makes


def child_exit(server, worker) -> None:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    directory = Path(os.environ.get(MULTIPROC_ENV) or "")
    if directory.name.startswith(OWN_DIR_PREFIX) and directory.parent == Path(
        tempfile.gettempdir()
    ):
        shutil.rmtree(directory, ignore_errors=True)
