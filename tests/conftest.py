"""Shared fixtures: API clients that carry real signed tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from rest_framework.test import APIClient

from agent33_site.security.tokens import issue_token

ClientFactory = Callable[..., APIClient]


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
