"""Stream benchmark: one server process holding 500 subscribers of the live stream (issue 13).

A real production server (`manage.py serve`: gunicorn, the stream-aware threaded worker,
DJANGO_DEBUG=0, memory state, ONE process) on loopback. The API load is scale_bench's mixed
workload (80% reads, 20% writes, three tenants and an operator) from 16 keep-alive clients,
while a writer creates a trace every 1/WRITES_PER_SECOND s (its task_id carries the time the
write was sent). It runs twice for SECONDS each: with no subscriber, then with SUBSCRIBERS
operators following `/v1/operations/stream?include=traces` (each on its own connection, held
by a second load-generator process so their reading does not delay the API clients' clock).
Every subscriber receives every trace event: the writer's and the mix's creations.

Printed: subscribers connected; events delivered per second (all subscribers together);
delivery latency p50/p99 from the writer's send to a subscriber's receipt; API requests/s,
p50 and p99 with 0 and with SUBSCRIBERS subscribers; the CPU both generator processes took
(the machine's cores are shared by the server and the generators).

Targets: all SUBSCRIBERS connect, every writer event reaches every subscriber, and the API
p99 with them is at most 2x its p99 without. Exit status 1 when missed.

Run: `.venv/bin/python bench/stream_bench.py` (or `make bench`); 35-70 s.

Figures on the reference machine (2 cores shared with other work; three runs): 500/500
connected in 2.5 s; 7,400-8,400 events delivered/s; delivery p50 120-260 ms, p99 420-590 ms
(the write's own queueing under a saturated API included); API p99 161-175 ms without
subscribers, 221-274 ms with 500: ratio 1.34-1.70. Before the one writer thread
(`operations/stream_sockets.py`), with every subscriber's thread waking per event: 6.4.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

# scale_bench sets up Django and holds the server, the client and the workload to reuse.
from scale_bench import Connection, Server, load, seed, summarize, tokens  # noqa: E402

from agent33_site.security.tokens import issue_token  # noqa: E402

SUBSCRIBERS = 500
CLIENTS = 16
SECONDS = 8.0
WRITES_PER_SECOND = 20
CONNECT_TIMEOUT = 60.0
MAX_P99_RATIO = 2.0
MARK = b'"name":"w'  # the writer's traces: task_id "w<unix time sent>"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def writer(url: str, token: str, seconds: float) -> int:
    """A trace every 1/WRITES_PER_SECOND s, named by the time its request was sent."""
    host, port = url.removeprefix("http://").split(":")
    connection = Connection(host, int(port))
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.perf_counter() + seconds
    written = 0
    try:
        while time.perf_counter() < deadline:
            body = json.dumps({"task_id": f"w{time.time():.6f}"}).encode()
            status = await connection.request("POST", "/v1/traces", body, headers)
            written += status == 201
            await asyncio.sleep(1 / WRITES_PER_SECOND)
    finally:
        connection.close()
    return written


async def phase(url: str, auth: dict[str, str], writer_token: str) -> tuple[dict, int]:
    result, written = await asyncio.gather(
        load(url, CLIENTS, SECONDS, auth), writer(url, writer_token, SECONDS)
    )
    return summarize([result]), written


# --- the subscribers' process -------------------------------------------------------------------


async def follow(host: str, port: int, token: str, stats: dict, stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = (
        f"GET /v1/operations/stream?include=traces HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    )
    writer.write(request.encode())
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        if int(head.split(b" ", 2)[1]) != 200:
            stats["refused"] += 1
            return
        stats["connected"] += 1
        latencies = stats["latencies"]
        tail = b""
        while not stop.is_set():
            data = await reader.read(65536)
            if not data:
                break
            now = time.time()
            stats["events"] += data.count(b"\nevent: ")
            data = tail + data
            start = data.find(MARK)
            while start >= 0:
                end = data.find(b'"', start + len(MARK))
                if end < 0:
                    break
                latencies.append(now - float(data[start + len(MARK) : end]))
                start = data.find(MARK, end)
            tail = data[start:] if start >= 0 else b""
    except (OSError, asyncio.IncompleteReadError, ValueError):
        stats["broken"] += 1
    finally:
        writer.close()


def subscribers_process(url: str, token: str, pipe) -> None:
    """Open SUBSCRIBERS streams, say how many connected, read until told to stop, report."""

    async def main() -> dict:
        host, port = url.removeprefix("http://").split(":")
        stats = {"connected": 0, "refused": 0, "broken": 0, "events": 0, "latencies": []}
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(follow(host, int(port), token, stats, stop))
            for _ in range(SUBSCRIBERS)
        ]
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while stats["connected"] + stats["refused"] + stats["broken"] < SUBSCRIBERS:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        pipe.send(("connected", stats["connected"], time.monotonic()))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pipe.recv)  # "measure": count from now on
        stats["events"], stats["latencies"][:] = 0, []
        cpu_before, started = cpu_seconds(), time.monotonic()
        await loop.run_in_executor(None, pipe.recv)  # "stop"
        stats["seconds"] = time.monotonic() - started
        stats["cpu"] = cpu_seconds() - cpu_before
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return stats

    pipe.send(("stats", asyncio.run(main())))


# --- the run --------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * fraction) - 1)] if ordered else float("nan")


def main() -> int:
    auth = tokens()
    writer_token = issue_token(sub="stream-writer", scopes=["workflows:write"], tenant_id="acme")
    follower_token = issue_token(sub="stream-follower", scopes=["workflows:read"])
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        server = Server(directory, "memory", 1, "redis://127.0.0.1:1/0")  # memory: unused
        try:
            seed(server.url, auth)
            cpu_before, wall_before = cpu_seconds(), time.perf_counter()
            quiet, quiet_written = asyncio.run(phase(server.url, auth, writer_token))
            quiet_cpu = (cpu_seconds() - cpu_before) / (time.perf_counter() - wall_before)

            here, there = multiprocessing.get_context("fork").Pipe()
            child = multiprocessing.get_context("fork").Process(
                target=subscribers_process, args=(server.url, follower_token, there)
            )
            connect_started = time.monotonic()
            child.start()
            _, connected, connected_at = here.recv()
            connect_seconds = connected_at - connect_started
            here.send("measure")
            cpu_before, wall_before = cpu_seconds(), time.perf_counter()
            busy, busy_written = asyncio.run(phase(server.url, auth, writer_token))
            busy_cpu = (cpu_seconds() - cpu_before) / (time.perf_counter() - wall_before)
            time.sleep(0.5)  # the last events reach the subscribers
            here.send("stop")
            _, stats = here.recv()
            child.join(timeout=30)
        finally:
            server.stop()

    latencies = stats["latencies"]
    expected = busy_written * connected
    received = len(latencies)
    ratio = busy["p99"] / quiet["p99"]
    print()
    print(f"{SUBSCRIBERS} subscribers, 1 server process (memory state), loopback, {SECONDS:.0f} s")
    print(
        f"connected: {connected}/{SUBSCRIBERS} in {connect_seconds:.1f} s "
        f"(refused {stats['refused']}, broken {stats['broken']})"
    )
    print(
        f"events delivered: {stats['events'] / stats['seconds']:.0f}/s "
        f"({stats['events']} in {stats['seconds']:.1f} s); writer events received "
        f"{received}/{expected} ({busy_written} writes x {connected} subscribers)"
    )
    if latencies:
        print(
            f"delivery latency write -> receipt: p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
        )
    print(
        f"{'subscribers':>11} | {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        "| generator CPU"
    )
    for count, row, cpu in ((0, quiet, quiet_cpu), (connected, busy, busy_cpu)):
        extra = f" + {stats['cpu'] / stats['seconds'] * 100:.0f}% (subscribers)" if count else ""
        print(
            f"{count:>11} | {row['rps']:>7.0f} {row['p50']:>7.1f} {row['p99']:>7.1f} "
            f"{row['errors']:>6} | {cpu * 100:.0f}% of a core{extra}"
        )
    print(
        f"API p99 with {connected} subscribers / without: {ratio:.2f} (target <= {MAX_P99_RATIO})"
    )
    print(f"total {time.monotonic() - started:.0f} s")
    met = (
        connected == SUBSCRIBERS
        and received >= expected
        and ratio <= MAX_P99_RATIO
        and quiet["errors"] == busy["errors"] == 0
        and quiet_written > 0
    )
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
