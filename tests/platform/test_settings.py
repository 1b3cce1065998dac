"""Production settings refuse development secrets; `check --deploy` is clean when configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRIVATE = "p" * 24 + "-private-secret-value-for-tests-0123456789"


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AGENT33_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,  # a server that wrongly starts must fail the test, not hang it
    )


def test_production_refuses_the_development_secret_key():
    result = _manage("check", DJANGO_DEBUG="0", AGENT33_JWT_SECRET=PRIVATE)
    assert result.returncode != 0
    assert "DJANGO_DEBUG=0 needs DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_the_development_jwt_secret():
    result = _manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY=PRIVATE)
    assert result.returncode != 0
    assert "DJANGO_DEBUG=0 needs AGENT33_JWT_SECRET" in result.stderr


def _production(static_root: Path) -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": PRIVATE,
        "AGENT33_JWT_SECRET": PRIVATE,
        "DJANGO_ALLOWED_HOSTS": "agent33.example.com",
        "DJANGO_STATIC_ROOT": str(static_root),
        "AGENT33_SQLITE_PATH": str(static_root / "db.sqlite3"),
    }


def test_check_deploy_is_clean_with_production_environment(tmp_path):
    env = _production(tmp_path)
    collected = _manage("collectstatic", "--noinput", "-v", "0", **env)
    assert collected.returncode == 0, collected.stderr
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_clearly_before_collectstatic(tmp_path):
    result = _manage("check", "--deploy", **_production(tmp_path))
    assert result.returncode != 0
    assert "(agent33_site.E001) The static files manifest staticfiles.json is missing" in (
        result.stderr
    )
    assert "Run `python manage.py collectstatic --noinput`" in result.stderr


def test_production_server_refuses_to_start_before_collectstatic(tmp_path):
    result = _manage("runserver", "127.0.0.1:0", "--noreload", **_production(tmp_path))
    assert result.returncode != 0
    assert "agent33_site.E001" in result.stderr


def test_issue_token_works_before_collectstatic(tmp_path):
    result = _manage(
        "issue_token", "--sub", "ops", "--scopes", "admin", "--operator", **_production(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(".") == 2  # one JWT: header.payload.signature


def _proxy_header(**env: str) -> str:
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_x_forwarded_proto_is_trusted_only_when_configured():
    assert _proxy_header() == "None"
    assert _proxy_header(DJANGO_TRUST_X_FORWARDED_PROTO="1") == (
        "('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def _import_wsgi(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """What gunicorn does first: import the WSGI application."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AGENT33_"))}
    return subprocess.run(
        [sys.executable, "-c", "import agent33_site.wsgi"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_wsgi_application_refuses_to_load_before_collectstatic(tmp_path):
    result = _import_wsgi(_production(tmp_path))
    assert result.returncode != 0
    assert "ImproperlyConfigured: The static files manifest staticfiles.json is missing" in (
        result.stderr
    )
    assert "Run `python manage.py collectstatic --noinput`" in result.stderr


def test_wsgi_application_loads_after_collectstatic(tmp_path):
    env = _production(tmp_path)
    assert _manage("collectstatic", "--noinput", "-v", "0", **env).returncode == 0
    result = _import_wsgi(env)
    assert result.returncode == 0, result.stderr
