"""One service per name per process, built lazily; tests reset them all with one call.

An app declares its service once (`services.register("outcomes", OutcomesService.from_settings)`)
and asks for it by the handle `register` returns; `reset_all()` drops every instance, so a
test fixture never keeps a hand-written list of what to reset.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

S = TypeVar("S")


class ServiceHandle(Generic[S]):
    """Builds the service with `factory` on first `get()`; `reset()` drops it."""

    def __init__(self, name: str, factory: Callable[[], S]) -> None:
        self.name = name
        self._factory = factory
        self._instance: S | None = None
        self._lock = threading.Lock()

    def get(self) -> S:
        instance = self._instance
        if instance is None:
            with self._lock:
                if self._instance is None:
                    self._instance = self._factory()
                instance = self._instance
        return instance

    def built(self) -> S | None:
        """The service if it was built, else None (and it is not built now)."""
        return self._instance

    def install(self, instance: S) -> S:
        """Put a prepared service in place (benchmarks swap whole data sets this way)."""
        with self._lock:
            self._instance = instance
        return instance

    def reset(self) -> None:
        with self._lock:
            self._instance = None


class ServiceRegistry:
    def __init__(self) -> None:
        self._handles: dict[str, ServiceHandle] = {}
        self._lock = threading.Lock()

    def register(self, name: str, factory: Callable[[], S]) -> ServiceHandle[S]:
        with self._lock:
            if name in self._handles:
                raise ValueError(f"A service named {name!r} is already registered.")
            handle = ServiceHandle(name, factory)
            self._handles[name] = handle
            return handle

    def names(self) -> list[str]:
        return sorted(self._handles)

    def build_all(self) -> None:
        """Build every registered service now (a server does, before it serves)."""
        for handle in list(self._handles.values()):
            handle.get()

    def reset_all(self) -> None:
        for handle in list(self._handles.values()):
            handle.reset()


services = ServiceRegistry()
