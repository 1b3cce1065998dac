"""One lazily built service per process, shared by every request; tests reset it.

Each service module wraps its singleton in public `get_X_service()` /
`reset_X_service()` functions, which are what views, sources and tests import.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

S = TypeVar("S")


class ServiceSingleton(Generic[S]):
    """Builds the service with `factory` on first `get()`; `reset()` drops it for a fresh one."""

    def __init__(self, factory: Callable[[], S]) -> None:
        self._factory = factory
        self._instance: S | None = None
        self._lock = threading.Lock()

    def get(self) -> S:
        with self._lock:
            if self._instance is None:
                self._instance = self._factory()
            return self._instance

    def reset(self) -> None:
        with self._lock:
            self._instance = None

    def install(self, instance: S) -> None:
        """Put a prepared service in place (the benchmark swaps whole data sets this way)."""
        with self._lock:
            self._instance = instance
