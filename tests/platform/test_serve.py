"""`manage.py serve` (`make serve`): the production start, run for real in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
PRIVATE = "s" * 24 + "-private-secret-value-for-serve-tests-0123"


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AGENT33_"))}
    return {
        **clean,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": PRIVATE,
        "AGENT33_JWT_SECRET": PRIVATE,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback for the test only
        "AGENT33_SQLITE_PATH": str(tmp_path / "db.sqlite3"),
    }


def _serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "serve", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_memory_backend_with_two_workers_is_refused_before_anything_runs(production_env):
    done = _serve({**production_env, "AGENT33_WORKERS": "2"})
    assert done.returncode == 1
    assert "AGENT33_WORKERS=2 with the memory state backend" in done.stderr
    assert not Path(production_env["DJANGO_STATIC_ROOT"]).exists()  # refused first


def test_redis_that_does_not_answer_is_refused(production_env):
    env = {
        **production_env,
        "AGENT33_STATE_BACKEND": "redis",
        "AGENT33_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    done = _serve(env)
    assert done.returncode == 1
    assert "Redis at AGENT33_REDIS_URL does not answer" in done.stderr


def test_dry_run_prepares_everything_and_names_the_server(production_env):
    done = _serve(production_env, "--dry-run", "--port", "8123")
    assert done.returncode == 0, done.stderr
    assert "1 process(es) x 8 threads, state backend memory" in done.stdout
    assert "gunicorn --workers 1 --threads 8 --bind 127.0.0.1:8123" in done.stdout
    static = Path(production_env["DJANGO_STATIC_ROOT"])
    assert (static / "staticfiles.json").exists()  # collectstatic ran
    assert Path(production_env["AGENT33_SQLITE_PATH"]).exists()  # migrate ran


def test_redis_backend_serves_with_two_worker_processes(production_env, redis_server):
    port = free_port()
    env = {
        **production_env,
        "AGENT33_STATE_BACKEND": "redis",
        "AGENT33_REDIS_URL": redis_server.url,
        "AGENT33_REDIS_PREFIX": "serve-test",
        "AGENT33_WORKERS": "2",
        "PORT": str(port),
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = None
        for _ in range(300):
            try:
                ready = _get(f"http://127.0.0.1:{port}/readyz")
                break
            except OSError:
                time.sleep(0.1)
        assert ready == (200, {"status": "ready"})
        workers = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(workers) == 2  # the gunicorn master (this pid) forked two workers
    finally:
        server.terminate()
        server.wait(timeout=30)
