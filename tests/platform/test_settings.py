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
    )


def test_production_refuses_the_development_secret_key():
    result = _manage("check", DJANGO_DEBUG="0", AGENT33_JWT_SECRET=PRIVATE)
    assert result.returncode != 0
    assert "DJANGO_DEBUG=0 needs DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_the_development_jwt_secret():
    result = _manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY=PRIVATE)
    assert result.returncode != 0
    assert "DJANGO_DEBUG=0 needs AGENT33_JWT_SECRET" in result.stderr


def test_check_deploy_is_clean_with_production_environment():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=PRIVATE,
        AGENT33_JWT_SECRET=PRIVATE,
        DJANGO_ALLOWED_HOSTS="agent33.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
