"""A logging formatter that writes each record as one JSON object on one line.

Django's `LOGGING` uses it for the `agent33.requests` logger; a record's `fields` (a dict
passed as `extra={"fields": ...}`) become top-level keys of the line.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

_encode = json.JSONEncoder(default=str).encode  # built once: this runs on every request


class JSONFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", **fields}`; non-ASCII is escaped, so a line
    is always valid JSON and never splits, whatever a field holds."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line)
