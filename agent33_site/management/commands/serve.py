"""`manage.py serve` (what `make serve` runs): the production start on one host.

In order: collectstatic (first, since the static-manifest check stops every other command
without it), migrate, the deploy checks, then gunicorn with `AGENT33_WORKERS` processes of
`AGENT33_THREADS` threads each, replacing this process. Settings and secrets come from the
environment like every other command.

Why gunicorn's threaded workers: the API is synchronous Django, which under an ASGI server
runs every synchronous view of a process on one shared thread; threads serve requests side
by side, and processes (with the `redis` backend) use every core. With the `memory` backend
the state lives in one process, so more than one worker is refused.

The live stream (`/v1/operations/stream`, contract §7) holds one thread per subscriber for
as long as it is connected. The worker class here (`StreamingThreadWorker`, gunicorn's
gthread) therefore runs `AGENT33_THREADS` threads for the API plus one per stream slot
(`OPERATIONS_STREAM_MAX_SUBSCRIBERS`, default 512; the stream refuses the next subscriber
with a 503 `stream_full`), so subscribers never take the API's threads. An idle subscriber
sleeps on an `Event` while one writer thread per process sends every stream's events
(`operations/stream_sockets.py`). `bench/stream_bench.py` (one process, memory state,
loopback, 16 API clients, 2 cores shared with the generators) chose this: with each
subscriber's thread waking for every event, the API p99 with 500 subscribers was 6.4x its
p99 with none (1072 vs 169 ms; delivery p50 860 ms); with the one writer thread, 1.3-1.7x
over three runs (e.g. 221 vs 166 ms; delivery p50 120-260 ms, p99 420-590 ms; 7,400-8,400
events delivered/s), within the 2x target. So no ASGI server, under which Django would run
every synchronous API view of the process on one thread. On SIGTERM the worker ends every
stream first, so a graceful stop does not wait for subscribers.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from concurrent import futures

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from gunicorn.workers.gthread import ThreadWorker

from agent33_core import state
from agent33_site.observability.prometheus import MULTIPROC_ENV, prepare_multiprocess_dir
from operations.stream import close_streams, max_subscribers, open_streams


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise CommandError(f"{name} must be a whole number (got {raw!r}).") from exc


# How long a worker already holding `threads` connections or more leaves a new one to its
# siblings, per `threads` connections it holds (see StreamingThreadWorker.accept).
ACCEPT_WAIT_SECONDS = 0.005


class StreamingThreadWorker(ThreadWorker):
    """gunicorn's gthread worker with one more thread per stream slot; it ends the streams
    when it is told to stop, and, beside other workers, it leaves a new connection a moment
    to a worker holding fewer.

    Why the last: the workers share one listening socket, and a keep-alive connection stays
    with the worker that accepted it. The plain worker accepts whenever its poll wakes, so
    16 clients connecting at once were split 12/4 between two workers, and once 16/0: one
    process served them all while the other idled (`bench/scale_bench.py`). Here a worker
    holding `threads` connections or more (streams aside) waits `ACCEPT_WAIT_SECONDS` per
    `threads` it holds before it accepts, so the one holding fewer takes the connection;
    16 clients are then split 8/8. Connections still waiting after the wait are wanted by
    no sibling: it takes up to `threads` of them at once (one at a time, 64 clients
    connecting together waited up to ~0.25 s to be let in). A lone worker never waits.
    """

    _accept_at: float | None = None  # while set, this worker leaves new connections be
    _waited = False  # it waited: the next connection is its own

    def get_thread_pool(self) -> futures.ThreadPoolExecutor:
        # Called before the app is loaded (plain gunicorn, `make run`): settings as wsgi.py.
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agent33_site.settings")
        return futures.ThreadPoolExecutor(max_workers=self.cfg.threads + max_subscribers())

    def accept(self, listener) -> None:
        held = (self.nr_conns - open_streams()) // self.cfg.threads
        if self.cfg.workers > 1 and held and not self._waited:
            self._accept_at = time.monotonic() + ACCEPT_WAIT_SECONDS * held
            self.set_accept_enabled(False)
            return
        if not self._waited:
            super().accept(listener)
            return
        # It waited and the connections are still there: no sibling wants them now. Take
        # up to a block of them, so that a crowd connecting at once is not let in one by one.
        self._waited = False
        for _ in range(self.cfg.threads):
            before = self.nr_conns
            super().accept(listener)
            if self.nr_conns == before:  # none left (EAGAIN)
                break

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self._accept_at is None)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self._accept_at is not None:
            left = self._accept_at - time.monotonic()
            if left > 0:
                timeout = min(timeout, left)
            else:
                self._accept_at, self._waited = None, True
                self.set_accept_enabled(self.alive and self.nr_conns < self.worker_connections)
        super().wait_for_and_dispatch_events(timeout)
        self._waited = False  # a connection still waiting after this round waits again

    def handle_exit(self, sig, frame) -> None:
        close_streams()
        super().handle_exit(sig, frame)


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
            # No access log: the app writes one JSON line per request (agent33.requests).
            "--no-control-socket",
            # Its child_exit hook keeps multi-process metrics right (README "Metrics").
            "--config",
            "python:agent33_site.observability.gunicorn_conf",
            "--worker-class",
            "agent33_site.management.commands.serve.StreamingThreadWorker",
            "agent33_site.wsgi",
        ]
        self.stdout.write(
            f"Serving on http://{host}:{port}/ with {workers} process(es) x {threads} threads, "
            f"state backend {backend}; and up to {max_subscribers()} stream subscribers per "
            "process, each on a thread of its own."
        )
        if options["dry_run"]:
            self.stdout.write(" ".join(command))
            return
        # Every worker counts into this fresh directory; /metrics adds them up.
        os.environ[MULTIPROC_ENV] = prepare_multiprocess_dir(os.environ.get(MULTIPROC_ENV, ""))
        sys.stdout.flush()
        os.execv(gunicorn, command)
