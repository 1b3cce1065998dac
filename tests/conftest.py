"""Shared fixtures: API clients that carry real signed tokens."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import pytest
from rest_framework.test import APIClient

from agent33_site.security.tokens import issue_token

ClientFactory = Callable[..., APIClient]

STATE_BACKENDS = ("memory", "redis")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--state-backend",
        choices=STATE_BACKENDS,
        default=os.environ.get("AGENT33_TEST_STATE_BACKEND", "memory"),
        help="Where the apps keep their state in this run (make test runs both).",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"state backend: {config.getoption('--state-backend')}"


@pytest.fixture(autouse=True)
def state_backend(request: pytest.FixtureRequest) -> str:
    """Every test runs on the session's backend; with Redis, on an empty private server.

    The apps' conftests reset the services after this, so each test's stores are built on
    this backend. A test that is about one backend only says so with
    `@pytest.mark.memory_only` (it is skipped in the Redis run).
    """
    backend = request.config.getoption("--state-backend")
    if backend == "redis":
        if request.node.get_closest_marker("memory_only"):
            pytest.skip("about the memory backend only")
        import redis

        from agent33_core.registry import services

        server = request.getfixturevalue("redis_server")
        settings = request.getfixturevalue("settings")
        settings.AGENT33_STATE_BACKEND = "redis"
        settings.AGENT33_REDIS_URL = server.url
        redis.Redis.from_url(server.url).flushdb()
        services.reset_all()
    return backend


def bearer_client(scopes: Iterable[str], tenant: str = "", sub: str = "tester") -> APIClient:
    """An APIClient authenticated as a tenant principal, or an operator when `tenant` is ""."""
    client = APIClient()
    token = issue_token(sub=sub, scopes=list(scopes), tenant_id=tenant)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def make_client() -> ClientFactory:
    """`make_client(["outcomes:read"], tenant="t1")`; omit `tenant` for an operator."""
    return bearer_client


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def operator_client() -> APIClient:
    return bearer_client(["admin"], sub="operator")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    """The session's private redis-server (started on first use, stopped at the end)."""
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()
