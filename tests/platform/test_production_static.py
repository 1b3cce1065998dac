"""With DJANGO_DEBUG=0 the app itself serves docs and admin assets (WhiteNoise), no CDN."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    static_root = tmp_path_factory.mktemp("static")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AGENT33_"))}
    env = {
        **clean,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": PRIVATE,
        "AGENT33_JWT_SECRET": PRIVATE,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_STATIC_ROOT": str(static_root),
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback for the test only
        "AGENT33_SQLITE_PATH": str(static_root / "db.sqlite3"),
    }
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
