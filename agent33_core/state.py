"""Where the apps' state lives: the `AGENT33_STATE_BACKEND` setting and the Redis client.

`memory` (default): each store keeps its records in this process. `redis`: every store
keeps them in the Redis at `AGENT33_REDIS_URL`, under keys that start with
`AGENT33_REDIS_PREFIX` (default `a33`), so any number of processes share one state.
The apps' store factories ask `backend()` once per store they build; services are rebuilt
by `agent33_core.registry.services.reset_all()`, so a test that changes the settings and
resets the services gets stores of the new backend.
"""

from __future__ import annotations

import threading
from typing import TypeVar

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pydantic import BaseModel

from .redis_store import RedisKeyedStore, RedisRecordStore
from .store import KeyedStore, MemoryKeyedStore, MemoryRecordStore, RecordStore, StoreSpec

R = TypeVar("R", bound=BaseModel)
V = TypeVar("V", bound=BaseModel)

MEMORY = "memory"
REDIS = "redis"
BACKENDS = (MEMORY, REDIS)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_REDIS_PREFIX = "a33"

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def backend() -> str:
    chosen = getattr(settings, "AGENT33_STATE_BACKEND", MEMORY) or MEMORY
    if chosen not in BACKENDS:
        raise ImproperlyConfigured(
            f"AGENT33_STATE_BACKEND must be one of {', '.join(BACKENDS)} (got {chosen!r})."
        )
    return chosen


def redis_prefix() -> str:
    return getattr(settings, "AGENT33_REDIS_PREFIX", DEFAULT_REDIS_PREFIX) or DEFAULT_REDIS_PREFIX


def redis_url() -> str:
    return getattr(settings, "AGENT33_REDIS_URL", DEFAULT_REDIS_URL) or DEFAULT_REDIS_URL


def redis_client() -> redis.Redis:
    """The process's client for `AGENT33_REDIS_URL` (one connection pool per URL, shared by
    every thread; bytes in and out)."""
    url = redis_url()
    client = _clients.get(url)
    if client is None:
        with _clients_lock:
            client = _clients.get(url)
            if client is None:
                client = _clients[url] = redis.Redis.from_url(
                    url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
                )
    return client


def record_store(spec: StoreSpec[R], *, name: str, model: type[R]) -> RecordStore[R]:
    """The store for records described by `spec` on the configured backend; `name` keeps
    its Redis keys apart from every other store's, `model` reads records back."""
    if backend() == REDIS:
        return RedisRecordStore(
            spec, client=redis_client(), prefix=redis_prefix(), name=name, model=model
        )
    return MemoryRecordStore(spec)


def keyed_store(*, name: str, model: type[V]) -> KeyedStore[V]:
    """Values by key (pydantic models) on the configured backend."""
    if backend() == REDIS:
        return RedisKeyedStore(client=redis_client(), prefix=redis_prefix(), name=name, model=model)
    return MemoryKeyedStore()
