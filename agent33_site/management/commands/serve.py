"""`manage.py serve` (what `make serve` runs): the production start on one host.

In order: collectstatic (first, since the static-manifest check stops every other command
without it), migrate, the deploy checks, then gunicorn with `AGENT33_WORKERS` processes of
`AGENT33_THREADS` threads each, replacing this process. Settings and secrets come from the
environment like every other command.

Why gunicorn's threaded workers: the API is synchronous Django, which under an ASGI server
runs every synchronous view of a process on one shared thread; threads serve requests side
by side, and processes (with the `redis` backend) use every core. With the `memory` backend
the state lives in one process, so more than one worker is refused.
"""

from __future__ import annotations

import os
import shutil
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from agent33_core import state


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise CommandError(f"{name} must be a whole number (got {raw!r}).") from exc


class Command(BaseCommand):
    help = (
        "collectstatic, migrate, deploy checks, then gunicorn with AGENT33_WORKERS processes "
        "(refused above 1 with the memory state backend)."
    )
    # collectstatic must run before the system checks, which refuse to pass without it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=_env_int("PORT", 8000))
        parser.add_argument("--workers", type=int, default=_env_int("AGENT33_WORKERS", 1))
        parser.add_argument("--threads", type=int, default=_env_int("AGENT33_THREADS", 8))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Do every step, then print the server command instead of running it.",
        )

    def handle(self, *args, host: str, port: int, workers: int, threads: int, **options) -> None:
        if workers < 1 or threads < 1:
            raise CommandError("AGENT33_WORKERS and AGENT33_THREADS must be at least 1.")
        backend = state.backend()
        if backend == state.MEMORY and workers > 1:
            raise CommandError(
                f"AGENT33_WORKERS={workers} with the memory state backend: each process would "
                "keep its own copy of the state. Run one worker, or set "
                "AGENT33_STATE_BACKEND=redis (and AGENT33_REDIS_URL)."
            )
        if backend == state.REDIS:
            try:
                state.redis_client().ping()
            except Exception as exc:
                raise CommandError(
                    f"Redis at AGENT33_REDIS_URL does not answer ({exc.__class__.__name__})."
                ) from exc
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("check", deploy=True, fail_level="ERROR")
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which(
            "gunicorn"
        )
        if gunicorn is None:
            raise CommandError("gunicorn is not installed (it is a dependency: pip install -e .).")
        command = [
            gunicorn,
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"{host}:{port}",
            "--access-logfile",
            "-",
            "--no-control-socket",
            "agent33_site.wsgi",
        ]
        self.stdout.write(
            f"Serving on http://{host}:{port}/ with {workers} process(es) x {threads} threads, "
            f"state backend {backend}."
        )
        if options["dry_run"]:
            self.stdout.write(" ".join(command))
            return
        sys.stdout.flush()
        os.execv(gunicorn, command)
