"""Scale benchmark: memory with one process against Redis with 1, 2 and 4 (issue 12).

Each configuration is a real production server (`manage.py serve`: gunicorn, threaded
workers, DJANGO_DEBUG=0) on loopback, with its state in memory or in a private
redis-server started here. A load generator in this process (asyncio with a minimal
keep-alive HTTP/1.1 client, one connection per client, so it takes little CPU) runs a
mixed workload for a fixed time from 16 and from 64 concurrent clients: 80% reads
(dashboard, hub, event list, trace list) and 20% writes (record an event, create a
trace), as three tenants and an operator. It prints requests per second, p50 and p99
latency, errors, and how much CPU the load generator itself took (the machine has two
cores, shared by the servers, Redis and the generator).

Every server runs from the start, idle but for its turn: each row's time is taken in
`ROUNDS` short turns, the configurations taking turns round-robin, so a slow spell of the
(shared, virtual) machine slows every row alike instead of whichever row it fell on. Run
one after the other, the same configuration measured 289, 352 and 472 req/s.

Then, on Redis alone: the dashboard p50 of a tenant holding 100,000 events against one
holding 1,000 (target <= 1.5), and the Redis memory those 100,000 events take.

Targets: Redis with 2 processes serves at least the requests/s of memory with 1, with no
worse p99 and zero errors; the Redis dashboard ratio <= 1.5. Exit status 1 when missed.

Run: `.venv/bin/python bench/scale_bench.py` (or `make bench`).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agent33_site.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
SECRET = "scale-bench-" + "x" * 40
os.environ["AGENT33_JWT_SECRET"] = SECRET

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import redis  # noqa: E402

from agent33_site.security.tokens import issue_token  # noqa: E402
from tests.redis_server import RedisServer, free_port  # noqa: E402

CONFIGS = [("memory", 1), ("redis", 1), ("redis", 2), ("redis", 4)]
CLIENTS = (16, 64)
SECONDS = 8.0  # per row, in ROUNDS turns
ROUNDS = 4
TENANTS = ("acme", "globex", "initech")
EVENT = {"domain": "billing", "event_type": "run", "metric_type": "latency_ms", "value": 12.5}
BIG, SMALL = 100_000, 1_000
MAX_DASHBOARD_RATIO = 1.5


def tokens() -> dict[str, str]:
    scopes = [
        "outcomes:read",
        "outcomes:write",
        "workflows:read",
        "workflows:write",
        "workflows:execute",
    ]
    made = {
        tenant: issue_token(sub=f"{tenant}-bench", scopes=scopes, tenant_id=tenant)
        for tenant in TENANTS
    }
    made[""] = issue_token(sub="operator-bench", scopes=["admin"])
    return made


class Server:
    """`manage.py serve` in a subprocess, with its own static root and SQLite file."""

    def __init__(self, directory: Path, backend: str, workers: int, redis_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AGENT33_"))},
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "scale-bench-secret-key-" + "y" * 40,
            "AGENT33_JWT_SECRET": SECRET,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_STATIC_ROOT": str(directory / "static"),
            "AGENT33_SQLITE_PATH": str(directory / f"db-{self.port}.sqlite3"),
            "AGENT33_STATE_BACKEND": backend,
            "AGENT33_REDIS_URL": redis_url,
            "AGENT33_REDIS_PREFIX": f"bench{self.port}",
            "AGENT33_WORKERS": str(workers),
            "PORT": str(self.port),
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the {backend} server did not become ready")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def seed(url: str, auth: dict[str, str]) -> None:
    """Some history for every tenant: events, finished and live traces."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for tenant in TENANTS:
            headers = {"Authorization": f"Bearer {auth[tenant]}"}
            for n in range(200):
                client.post("/v1/outcomes/events", json={**EVENT, "value": n % 50}, headers=headers)
            for n in range(30):
                trace = client.post("/v1/traces", json={"task_id": f"t{n}"}, headers=headers).json()
                if n % 3:
                    client.post(f"/v1/traces/{trace['id']}/complete", json={}, headers=headers)


def pick(rng: random.Random, auth: dict[str, str]) -> tuple[str, str, dict | None, dict]:
    """One request of the mix: (method, path, body, headers)."""
    tenant = rng.choice(TENANTS)
    headers = {"Authorization": f"Bearer {auth[tenant]}"}
    roll = rng.random()
    if roll < 0.25:
        return "GET", "/v1/outcomes/dashboard", None, headers
    if roll < 0.45:
        return "GET", "/v1/operations/hub", None, headers
    if roll < 0.55:
        return "GET", "/v1/operations/hub", None, {"Authorization": f"Bearer {auth['']}"}
    if roll < 0.70:
        return "GET", "/v1/outcomes/events?limit=20", None, headers
    if roll < 0.80:
        return "GET", "/v1/traces?limit=20", None, headers
    if roll < 0.95:
        return "POST", "/v1/outcomes/events", EVENT, headers
    return "POST", "/v1/traces", {"task_id": "bench"}, headers


class Connection:
    """One keep-alive HTTP/1.1 connection, as light as a load generator can be: the request
    written as bytes, the answer read by its Content-Length (the API always sends one)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes, headers: dict) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def load(url: str, clients: int, seconds: float, auth: dict[str, str]) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    host, port = url.removeprefix("http://").split(":")
    deadline = time.perf_counter() + seconds
    bodies = {id(EVENT): json.dumps(EVENT).encode()}

    async def one_client(number: int) -> None:
        rng = random.Random(number)
        connection = Connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                method, path, body, headers = pick(rng, auth)
                payload = b"" if body is None else bodies.get(id(body)) or json.dumps(body).encode()
                started = time.perf_counter()
                try:
                    status = await connection.request(method, path, payload, headers)
                    problem = None if status in (200, 201) else f"HTTP {status}"
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    problem = type(exc).__name__
                    connection.close()
                    connection = Connection(host, int(port))
                latencies.append(time.perf_counter() - started)
                if problem is not None:
                    errors[problem] = errors.get(problem, 0) + 1
        finally:
            connection.close()

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    await asyncio.gather(*(one_client(n) for n in range(clients)))
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"latencies": latencies, "errors": errors, "wall": wall, "cpu": cpu}


def summarize(turns: list[dict]) -> dict:
    """One row from its turns: every request of every turn, over their summed time."""
    latencies = sorted(latency for turn in turns for latency in turn["latencies"])
    wall = sum(turn["wall"] for turn in turns)
    errors: dict[str, int] = {}
    for turn in turns:
        for kind, count in turn["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    return {
        "rps": len(latencies) / wall,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "requests": len(latencies),
        "generator_cpu": sum(turn["cpu"] for turn in turns) / wall,
    }


def dashboard_ratio(redis_url: str) -> tuple[float, float, float, float]:
    """(p50 at 100k, p50 at 1k, ratio, Redis bytes per event) with state in Redis."""
    from django.conf import settings
    from django.test import Client

    from agent33_core.registry import services

    settings.AGENT33_STATE_BACKEND = "redis"
    settings.AGENT33_REDIS_URL = redis_url
    settings.AGENT33_REDIS_PREFIX = "bench-dashboard"
    settings.OUTCOMES_MAX_EVENTS_PER_TENANT = BIG
    settings.OUTCOMES_MAX_BYTES_PER_TENANT = BIG * 4096
    services.reset_all()
    from outcomes.domain import MetricType
    from outcomes.services import get_outcomes_service

    service = get_outcomes_service()
    client = redis.Redis.from_url(redis_url)
    used_before = client.info("memory")["used_memory"]
    start = datetime.now(UTC) - timedelta(days=14)
    metrics = [
        MetricType.SUCCESS_RATE,
        MetricType.QUALITY_SCORE,
        MetricType.LATENCY_MS,
        MetricType.COST_USD,
    ]

    def write(tenant: str, count: int, offset: int) -> None:
        rng = random.Random(offset)
        step = timedelta(days=14) / count
        for i in range(offset, count, 4):
            metric = metrics[i % 4]
            service.record_event(
                tenant_id=tenant,
                domain=("billing", "search", "support", "codegen")[i % 4],
                event_type=f"invocation-{i % 3}",
                metric_type=metric,
                value=rng.random() * (1000 if metric is MetricType.LATENCY_MS else 1.5),
                occurred_at=start + step * i,
            )

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda offset: write("big", BIG, offset), range(4)))
    seeded = time.perf_counter() - started
    per_event = (client.info("memory")["used_memory"] - used_before) / BIG
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda offset: write("small", SMALL, offset), range(4)))
    print(f"seeded {BIG:,} events into Redis in {seeded:.1f} s")
    browser = Client()
    timings: dict[str, list[float]] = {"big": [], "small": []}
    auth = {t: issue_token(sub="bench", scopes=["outcomes:read"], tenant_id=t) for t in timings}
    for round_number in range(220):
        for tenant in ("big", "small"):
            began = time.perf_counter()
            response = browser.get(
                "/v1/outcomes/dashboard", HTTP_AUTHORIZATION=f"Bearer {auth[tenant]}"
            )
            if round_number >= 20:  # the first rounds warm up
                timings[tenant].append(time.perf_counter() - began)
            assert response.status_code == 200, response.content[:200]
    big, small = (statistics.median(timings[t]) * 1000 for t in ("big", "small"))
    return big, small, big / small, per_event


def main() -> int:
    auth = tokens()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        (directory / "redis").mkdir()
        redis_server = RedisServer(directory / "redis").start()
        servers: dict[tuple[str, int], Server] = {}
        try:
            for backend, workers in CONFIGS:
                servers[(backend, workers)] = server = Server(
                    directory, backend, workers, redis_server.url
                )
                seed(server.url, auth)
            for clients in CLIENTS:
                turns: dict[tuple[str, int], list[dict]] = {config: [] for config in CONFIGS}
                for _ in range(ROUNDS):
                    for config, server in servers.items():
                        turns[config].append(
                            asyncio.run(load(server.url, clients, SECONDS / ROUNDS, auth))
                        )
                for (backend, workers), taken in turns.items():
                    results[(backend, workers, clients)] = summarize(taken)
            for server in servers.values():
                server.stop()
            servers.clear()
            big, small, ratio, per_event = dashboard_ratio(redis_server.url)
        finally:
            for server in servers.values():
                server.stop()
            redis_server.stop()

    print()
    print(f"mixed workload (80% reads, 20% writes), {SECONDS:.0f} s per row, loopback")
    print(
        f"{'state':>6} {'procs':>5} {'clients':>7} | {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} | generator CPU"
    )
    for (backend, workers, clients), row in results.items():
        print(
            f"{backend:>6} {workers:>5} {clients:>7} | {row['rps']:>7.0f} {row['p50']:>7.1f} "
            f"{row['p99']:>7.1f} {row['errors']:>6} | {row['generator_cpu'] * 100:.0f}% of a core"
        )
    print()
    met = True
    for clients in CLIENTS:
        memory, shared = results[("memory", 1, clients)], results[("redis", 2, clients)]
        ok = (
            shared["rps"] >= memory["rps"]
            and shared["p99"] <= memory["p99"]
            and shared["errors"] == 0
        )
        met = met and ok
        print(
            f"{clients} clients: redis x2 {shared['rps']:.0f} req/s (p99 {shared['p99']:.1f} ms) "
            f"vs memory x1 {memory['rps']:.0f} req/s (p99 {memory['p99']:.1f} ms): "
            f"{'OK' if ok else 'MISSED'}"
        )
    errors = sum(row["errors"] for row in results.values())
    met = met and errors == 0
    kinds: dict[str, int] = {}
    for row in results.values():
        for kind, count in row["error_kinds"].items():
            kinds[kind] = kinds.get(kind, 0) + count
    print(f"errors in every row together: {errors} {kinds or ''}")
    print(
        f"redis dashboard p50: {big:.2f} ms at 100k events, {small:.2f} ms at 1k: "
        f"ratio {ratio:.2f} (target <= {MAX_DASHBOARD_RATIO})"
    )
    met = met and ratio <= MAX_DASHBOARD_RATIO
    print(
        f"Redis memory per event: {per_event:.0f} bytes "
        f"({per_event * 100_000 / 2**20:.0f} MiB per 100k events)"
    )
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
