"""With DJANGO_DEBUG=0 the app itself serves docs and admin assets (WhiteNoise), no CDN."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRIVATE = "p" * 24 + "-private-secret-value-for-tests-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def _get_any(url: str) -> tuple[int, dict, bytes]:
    """Status, headers and body, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def production_env(tmp_path_factory) -> dict[str, str]:
    static_root = tmp_path_factory.mktemp("static")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AGENT33_"))}
    return {
        **clean,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": PRIVATE,
        "AGENT33_JWT_SECRET": PRIVATE,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_STATIC_ROOT": str(static_root),
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback for the test only
        "AGENT33_SQLITE_PATH": str(static_root / "db.sqlite3"),
    }


@pytest.fixture(scope="module")
def production_server(production_env):
    """collectstatic, then the server, on a database nobody has migrated yet."""
    env = production_env
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    port = _free_port()
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_docs_and_their_assets_are_served_with_debug_off(production_server):
    status, html = _get(f"{production_server}/v1/docs/")
    assert status == 200
    page = html.decode()
    start = page.index("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle")
    asset = page[start : page.index('"', start)]
    asset_status, body = _get(f"{production_server}{asset}")
    assert asset_status == 200
    assert len(body) > 100_000


def test_admin_login_and_its_css_are_served_with_debug_off(production_server):
    status, html = _get(f"{production_server}/admin/login/")
    assert status == 200
    page = html.decode()
    start = page.index("/static/admin/css/base")
    css = page[start : page.index('"', start)]
    assert _get(f"{production_server}{css}")[0] == 200


def test_readyz_is_503_until_migrations_are_applied(production_server, production_env):
    status, _, body = _get_any(f"{production_server}/readyz")
    assert status == 503
    problem = json.loads(body)
    assert problem["code"] == "not_ready"
    assert "Database migrations are not applied" in problem["detail"]
    assert "manage.py migrate" in problem["detail"]

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=production_env,
        check=True,
    )
    status, _, body = _get_any(f"{production_server}/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready"})


def test_docs_and_admin_send_security_headers_with_debug_off(production_server):
    for page in ("/v1/docs/", "/v1/redoc/", "/admin/login/"):
        status, headers, _ = _get_any(f"{production_server}{page}")
        assert status == 200
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
