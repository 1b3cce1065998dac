"""Clients that connect at once are shared out between the server's worker processes.

gunicorn's workers share one listening socket and a keep-alive connection stays with the
worker that accepted it; the project's worker (`StreamingThreadWorker`) lets a worker
holding fewer connections take a new one, so 16 clients connecting together are not left
on one process while the other idles.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
WORKER = "agent33_site.management.commands.serve.StreamingThreadWorker"


def _gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen:
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "agent33_site.settings", "DJANGO_DEBUG": "1"}
    command = [gunicorn, "--workers", str(workers), "--threads", str(threads)]
    command += ["--worker-class", WORKER, "--bind", f"127.0.0.1:{port}", "--no-control-socket"]
    process = subprocess.Popen(
        [*command, "tests.platform.pid_app:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # every worker answering, not only the first
        try:
            if len(_serving_pids(port, 8)) == workers:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start its workers")


def _ask(connection: socket.socket, port: int) -> int:
    connection.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply or not reply.split(b"\r\n\r\n", 1)[1]:
        chunk = connection.recv(4096)
        if not chunk:
            raise OSError("closed")
        reply += chunk
    return int(reply.split(b"\r\n\r\n", 1)[1])


def _serving_pids(port: int, clients: int) -> Counter[int]:
    """`clients` keep-alive connections opened together; which worker answers each (twice)."""
    connections = [
        socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(clients)
    ]
    try:
        with ThreadPoolExecutor(clients) as pool:
            first = list(pool.map(lambda c: _ask(c, port), connections))
            again = list(pool.map(lambda c: _ask(c, port), connections))
        assert first == again  # a kept-alive connection stays with its worker
        return Counter(first)
    finally:
        for connection in connections:
            connection.close()


@pytest.mark.parametrize("attempt", range(2))
def test_sixteen_clients_connecting_together_are_shared_out_between_two_workers(attempt):
    port = free_port()
    server = _gunicorn(port, workers=2, threads=8)
    try:
        split = sorted(_serving_pids(port, 16).values())
        assert len(split) == 2 and split[0] >= 5, split  # 8/8 unless a worker was slow to wake
    finally:
        server.terminate()
        server.wait(timeout=30)
