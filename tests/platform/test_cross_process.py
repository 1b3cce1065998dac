"""Two production servers on one Redis (contract §6: "any number of server processes ...
serve one consistent API, and a server restart loses nothing").

The module starts its own redis-server (AOF with `appendfsync always`, in a temp dir, so a
test can crash and restart it without touching the session's) and two `manage.py serve`
processes, A and B (gunicorn, one worker each, production settings, the same Redis URL and
prefix, different ports). Every test speaks real HTTP to them and asserts status and body.
A test that kills A starts a fresh A (a new process, on a new port) before it ends. The
servers' speech-to-text adapter is `tests/platform/stalling_adapter.py`, so a run can be
caught mid-way, and their multimodal lease grace is 0 (MULTIMODAL_LEASE_GRACE_SECONDS).

It runs in the Redis session only (`--state-backend=redis`) and is skipped in the memory
session: it needs redis-server whatever the session backend is, and once per `make test`
is enough, since it never uses the session's stores.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from django.test import override_settings

from agent33_site.security.tokens import issue_token
from multimodal.services import WORKER_LOST
from tests.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
PRIVATE = "c" * 24 + "-private-secret-value-for-cross-process-0123"
# A server start (collectstatic, migrate, deploy checks, gunicorn) takes ~9 s on 2 cores.
START_TIMEOUT_SECONDS = 90
SCOPES = [
    "workflows:read",
    "workflows:write",
    "workflows:execute",
    "multimodal:read",
    "multimodal:write",
    "outcomes:read",
    "outcomes:write",
]
# What each budget control moves the budget to (contract §5).
CONTROL_TARGET = {"pause": "suspended", "resume": "active", "cancel": "expired"}
# Rounds of the control race (2 budgets each): with controls on one budget not taking turns
# across servers, about half the budgets ended with an out-of-order history.
CONTROL_RACES = 5
LISTS = {
    "events": "/v1/outcomes/events?limit=1000",
    "traces": "/v1/traces/?limit=500",
    "budgets": "/v1/autonomy/budgets/?limit=500",
    "intakes": "/v1/improvements/intakes/?limit=500",
    "workflows": "/v1/workflows/executions/?limit=500",
    "multimodal": "/v1/multimodal/requests?limit=500",
}

Reply = tuple[int, Any]
T = TypeVar("T")


# --- processes ------------------------------------------------------------------------


class CrashableRedisServer(RedisServer):
    """The module's Redis; `crash()` is `kill -9` (no shutdown: only the AOF survives)."""

    def crash(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=10)
        self._process = None


def _alive(pid: int) -> bool:
    """Still running (a zombie waiting for its parent to reap it is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class ServerProcess:
    """One `manage.py serve`, in its own process group: it execs gunicorn, so its pid is the
    gunicorn master and the worker it forks shares the group."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.answered = False  # readyz has said 200 once
        workdir.mkdir(parents=True)
        self.log = workdir / "server.log"
        env = {
            **env,
            "PORT": str(self.port),
            "DJANGO_STATIC_ROOT": str(workdir / "static"),
            "AGENT33_SQLITE_PATH": str(workdir / "db.sqlite3"),
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def readyz(self) -> Reply:
        response = httpx.get(f"{self.url}/readyz", timeout=5)
        return response.status_code, response.json()

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"server {self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                if self.readyz() == (200, {"status": "ready"}):
                    self.answered = True
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server {self.name} not ready in {timeout} s:\n{self.log_tail()}")

    def workers(self) -> list[int]:
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        )
        return [int(pid) for pid in found.stdout.split()]

    def kill9(self) -> None:
        """`kill -9` of the master and its worker at once; returns when both are gone."""
        workers = self.workers()
        assert len(workers) == 1, f"{self.name}: expected one gunicorn worker, got {workers}"
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not any(map(_alive, workers)), f"{self.name}: worker survived kill -9"

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass


class Cluster:
    """The module's Redis and its named servers; a killed server is replaced by a fresh one
    under the same name (on a new port), so every test finds A and B serving."""

    def __init__(self, redis_server: CrashableRedisServer, workdir: Path) -> None:
        self.redis = redis_server
        self._workdir = workdir
        self._starts = 0
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "AGENT33_", "MULTIMODAL_", "OUTCOMES_", "OPERATIONS_"))
        }
        self.env = {
            **clean,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": PRIVATE,
            "AGENT33_JWT_SECRET": PRIVATE,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback for the test only
            "AGENT33_STATE_BACKEND": "redis",
            "AGENT33_REDIS_URL": redis_server.url,
            "AGENT33_REDIS_PREFIX": "cross-process",
            "AGENT33_WORKERS": "1",
            "MULTIMODAL_ADAPTER_SPEECH_TO_TEXT": "tests.platform.stalling_adapter.StallingAdapter",
            "MULTIMODAL_LEASE_GRACE_SECONDS": "0",
        }
        self.servers: dict[str, ServerProcess] = {}

    def start(self, name: str) -> ServerProcess:
        """A fresh server under `name` (not waited for: see `ServerProcess.wait_ready`)."""
        self._starts += 1
        server = ServerProcess(name, self.env, self._workdir / f"{name}-{self._starts}")
        self.servers[name] = server
        return server

    def serving(self, name: str) -> ServerProcess:
        """The server under `name` once it has answered (a replacement may be starting)."""
        server = self.servers[name]
        if not server.answered:
            server.wait_ready()
        return server

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.redis.stop()


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    if request.config.getoption("--state-backend") != "redis":
        pytest.skip("cross-process tests run once per `make test`, in the Redis session")
    workdir = tmp_path_factory.mktemp("cross-process")
    redis_dir = workdir / "redis"
    redis_dir.mkdir()
    cluster = Cluster(CrashableRedisServer(redis_dir, appendfsync="always").start(), workdir)
    try:
        started = [cluster.start("A"), cluster.start("B")]
        for server in started:  # both start side by side
            server.wait_ready()
        yield cluster
    finally:
        cluster.stop()


# --- HTTP -----------------------------------------------------------------------------


def token_for(tenant: str) -> str:
    """A tenant token the servers accept: signed with their AGENT33_JWT_SECRET."""
    with override_settings(AGENT33_JWT_SECRET=PRIVATE):
        return issue_token(sub=f"{tenant}-bot", scopes=SCOPES, tenant_id=tenant)


class Api:
    """One principal talking to one server; every call returns (status, JSON body)."""

    def __init__(self, url: str, token: str) -> None:
        self._client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=20
        )

    def get(self, path: str) -> Reply:
        response = self._client.get(path)
        return response.status_code, response.json()

    def post(self, path: str, body: dict | None = None, *, key: str = "") -> Reply:
        headers = {"Idempotency-Key": key} if key else {}
        response = self._client.post(path, json=body or {}, headers=headers)
        return response.status_code, response.json()

    def close(self) -> None:
        self._client.close()


Connect = Callable[[str, str], Api]


@pytest.fixture(autouse=True)
def quiet_http_client(caplog: pytest.LogCaptureFixture) -> None:
    """httpx logs every request at INFO: thousands of lines in a failure report."""
    caplog.set_level(logging.WARNING, logger="httpx")


@pytest.fixture
def connect(cluster: Cluster) -> Iterator[Connect]:
    """`connect("A", "tenant")`: an Api to server A as a principal of that tenant."""
    opened: list[Api] = []

    def open_api(server: str, tenant: str) -> Api:
        api = Api(cluster.serving(server).url, token_for(tenant))
        opened.append(api)
        return api

    yield open_api
    for api in opened:
        api.close()


def created(reply: Reply, status: int = 201) -> dict:
    code, body = reply
    assert code == status, body
    return body


@contextmanager
def scheduling_noise(cluster: Cluster) -> Iterator[None]:
    """While the block runs, the servers' workers take turns being stopped for 1-4 ms
    (SIGSTOP/SIGCONT), as on a busy host whose scheduler parks a process at any point: a
    race that needs one process to stall between two steps of a request while the other
    goes on then shows within a few rounds instead of by luck."""
    workers = [pid for name in ("A", "B") for pid in cluster.servers[name].workers()]
    done = threading.Event()
    chance = random.Random(0)

    def take_turns() -> None:
        while not done.is_set():
            for pid in workers:
                os.kill(pid, signal.SIGSTOP)
                time.sleep(chance.uniform(0.001, 0.004))
                os.kill(pid, signal.SIGCONT)

    stopper = threading.Thread(target=take_turns, daemon=True)
    stopper.start()
    try:
        yield
    finally:
        done.set()
        stopper.join(timeout=5)
        for pid in workers:
            os.kill(pid, signal.SIGCONT)


def run_together(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call at once (threads released by one barrier); answers in call order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# --- what a test writes and compares ---------------------------------------------------

TRACE = {
    "task_id": "task",
    "session_id": "s1",
    "run_id": "r1",
    "agent_id": "agent-1",
    "agent_role": "coder",
    "model": "gpt-x",
}


def event_body(domain: str, value: float = 1.0) -> dict:
    return {
        "domain": domain,
        "event_type": "run",
        "metric_type": "success_rate",
        "value": value,
        "metadata": {"from": domain},
    }


def active_budget(api: Api, task_id: str) -> dict:
    budget = created(api.post("/v1/autonomy/budgets/", {"task_id": task_id}))
    moved = created(
        api.post(f"/v1/autonomy/budgets/{budget['id']}/transition", {"to_state": "active"}), 200
    )
    assert moved["state"] == "active"
    return moved


def write_everything(a: Api, b: Api, tag: str) -> dict[str, str]:
    """Records of every kind, written through both servers, each acknowledged (2xx).
    Returns the idempotency key used and the id of the event it recorded."""
    key = f"key-{tag}"
    keyed = created(a.post("/v1/outcomes/events", event_body(f"{tag}-keyed"), key=key))
    for index, api in enumerate((a, b, a, b)):
        created(api.post("/v1/outcomes/events", event_body(f"{tag}-{index}", index / 4)))

    trace = created(a.post("/v1/traces/", {**TRACE, "task_id": f"{tag}-running"}))
    for step in ("plan", "code"):
        created(
            b.post(
                f"/v1/traces/{trace['id']}/actions",
                {"step_id": step, "action_id": f"{step}-1", "tool": "shell"},
            )
        )
    finished = created(b.post("/v1/traces/", {**TRACE, "task_id": f"{tag}-done"}))
    done = created(a.post(f"/v1/traces/{finished['id']}/complete", {"status": "completed"}), 200)
    assert done["status"] == "completed"

    active_budget(a, f"{tag}-active")
    paused = active_budget(b, f"{tag}-paused")
    control = a.post(
        f"/v1/operations/processes/{paused['id']}/control", {"action": "pause", "reason": tag}
    )
    assert created(control, 200)["status"] == "suspended"

    intake = created(a.post("/v1/improvements/intakes/", {"title": f"{tag} intake"}))
    for to_status in ("triaged", "analyzing"):
        path = f"/v1/improvements/intakes/{intake['id']}/transition"
        created(b.post(path, {"to_status": to_status}), 200)

    run = created(
        b.post(
            "/v1/workflows/executions/",
            {"workflow_name": f"{tag}-nightly", "trigger_type": "scheduled", "status": "running"},
        )
    )
    event = {"step_id": "build", "type": "step_started"}
    created(a.post(f"/v1/workflows/executions/{run['id']}/events", event))

    spoken = created(
        a.post("/v1/multimodal/requests", {"modality": "text_to_speech", "input_text": tag})
    )
    assert spoken["state"] == "completed", spoken
    pending = {"modality": "text_to_speech", "input_text": tag, "execute_now": False}
    assert created(b.post("/v1/multimodal/requests", pending))["state"] == "pending"
    return {"key": key, "event_id": keyed["id"], "domain": f"{tag}-keyed"}


def snapshot(api: Api) -> dict[str, Any]:
    """Everything the tenant can read: every list in full, every process's detail, every
    multimodal result, and the hub's processes (its `timestamp` is the time of the read)."""
    seen: dict[str, Any] = {}
    for name, path in LISTS.items():
        status, body = api.get(path)
        assert status == 200, (name, body)
        seen[name] = body
    for name in ("traces", "budgets", "intakes", "workflows", "multimodal"):
        for record in seen[name]:
            status, body = api.get(f"/v1/operations/processes/{record['id']}")
            assert status == 200, body
            seen[f"process {record['id']}"] = body
    for request in seen["multimodal"]:
        if request["result_id"]:
            status, body = api.get(f"/v1/multimodal/requests/{request['id']}/result")
            assert status == 200, body
            seen[f"result {request['id']}"] = body
    status, hub = api.get("/v1/operations/hub")
    assert status == 200, hub
    seen["hub"] = {key: hub[key] for key in ("active_count", "counts", "processes")}
    return seen


def assert_replayed(api: Api, written: dict[str, str]) -> None:
    """The idempotency key written before still returns its first event (200)."""
    status, body = api.post(
        "/v1/outcomes/events", event_body(written["domain"]), key=written["key"]
    )
    assert (status, body["id"]) == (200, written["event_id"]), body
    status, listed = api.get(f"/v1/outcomes/events?domain={written['domain']}")
    assert status == 200
    assert [event["id"] for event in listed] == [written["event_id"]]


def _try(call: Callable[..., Reply], *args: Any) -> Reply | Exception:
    try:
        return call(*args)
    except httpx.TransportError as exc:
        return exc


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the tests ------------------------------------------------------------------------


def test_a_write_on_one_server_is_read_at_once_on_the_other(connect: Connect):
    a, b = connect("A", "rw"), connect("B", "rw")
    rounds, traces, budgets = 20, [], []
    for index in range(rounds):
        tag = f"rw-{index}"
        event = created(a.post("/v1/outcomes/events", event_body(tag)))
        assert b.get(f"/v1/outcomes/events?domain={tag}") == (200, [event])
        assert b.get("/v1/outcomes/events?limit=1") == (200, [event])

        trace = created(a.post("/v1/traces/", {**TRACE, "task_id": tag}))
        assert b.get(f"/v1/traces/{trace['id']}") == (200, trace)
        status, listed = b.get("/v1/traces/?limit=1")
        assert (status, [t["id"] for t in listed]) == (200, [trace["id"]])
        traces.append(trace["id"])

        budget = active_budget(a, tag)
        assert b.get(f"/v1/autonomy/budgets/{budget['id']}") == (200, budget)
        status, process = b.get(f"/v1/operations/processes/{budget['id']}")
        assert (status, process["status"], process["controls"]) == (
            200,
            "active",
            ["pause", "cancel"],
        ), process
        budgets.append(budget["id"])

        request = created(
            a.post("/v1/multimodal/requests", {"modality": "text_to_speech", "input_text": tag})
        )
        assert request["state"] == "completed", request
        assert b.get(f"/v1/multimodal/requests/{request['id']}") == (200, request)
        status, result = b.get(f"/v1/multimodal/requests/{request['id']}/result")
        assert (status, result["id"], result["state"]) == (200, request["result_id"], "completed")
        assert b.get("/v1/multimodal/requests?limit=1") == (200, [request])

    status, hub = b.get("/v1/operations/hub?include=traces,budgets")
    assert status == 200, hub
    assert hub["counts"] == {"trace": rounds, "autonomy_budget": rounds}
    shown = {process["id"]: process for process in hub["processes"]}
    assert set(shown) == set(traces) | set(budgets)
    assert {shown[t]["status"] for t in traces} == {"running"}


def test_an_idempotency_race_across_servers_records_one_event(connect: Connect):
    apis = [connect(server, "idem") for server in ("A", "B")]
    for race in range(3):
        domain, key = f"idem-{race}", f"race-{race}"
        body = event_body(domain)
        calls = [partial(apis[i % 2].post, "/v1/outcomes/events", body, key=key) for i in range(16)]
        replies = run_together(calls)
        statuses = sorted(status for status, _ in replies)
        assert statuses == [200] * 15 + [201], replies
        first = next(body for status, body in replies if status == 201)
        assert first["domain"] == domain and first["value"] == 1.0
        assert all(body == first for _, body in replies), replies
        for api in apis:
            assert api.get(f"/v1/outcomes/events?domain={domain}") == (200, [first])


def test_an_experiment_assignment_race_across_servers_stores_one_variant(
    cluster: Cluster, connect: Connect
):
    apis = [connect(server, "experiments") for server in ("A", "B")]
    variants = [{"name": "control", "weight": 1}, {"name": "treatment", "weight": 3}]
    experiment = created(
        apis[0].post("/v1/outcomes/experiments", {"key": "race-exp", "variants": variants})
    )
    assert apis[1].get("/v1/outcomes/experiments/race-exp") == (200, experiment)
    with scheduling_noise(cluster):
        for race in range(3):
            subject = f"subject-{race}"
            path = "/v1/outcomes/experiments/race-exp/assignments"
            calls = [partial(apis[i % 2].post, path, {"subject_id": subject}) for i in range(16)]
            # An event of the same subject joins while the assignments race: it must count
            # for the one stored variant, whichever call stores it.
            event = {
                **event_body("experiments"),
                "metadata": {"experiment": "race-exp", "subject_id": subject},
            }
            calls.append(partial(apis[race % 2].post, "/v1/outcomes/events", event))
            replies = run_together(calls)
            assert replies[-1][0] == 201, replies[-1]
            assigned = replies[:-1]
            statuses = sorted(status for status, _ in assigned)
            assert statuses in ([200] * 16, [200] * 15 + [201]), assigned
            first = assigned[0][1]
            assert all(body == first for _, body in assigned), assigned
            for api in apis:
                path = f"/v1/outcomes/experiments/race-exp/assignments/{subject}"
                assert api.get(path) == (200, first)
    status, report = apis[1].get("/v1/outcomes/experiments/race-exp/report")
    assert status == 200, report
    success = next(m for m in report["metrics"] if m["metric_type"] == "success_rate")
    assert sum(row["n"] for row in success["variants"]) == 3


def test_concurrent_controls_across_servers_give_one_consistent_history(
    cluster: Cluster, connect: Connect
):
    a, b = connect("A", "ctl"), connect("B", "ctl")
    for race in range(CONTROL_RACES):
        budgets = [active_budget(a, f"ctl-{race}-{n}")["id"] for n in range(2)]
        # Per budget, A's callers keep pausing and B's keep resuming, so nearly every
        # control hands the budget to the other server; one caller mixes in a cancel.
        callers = []
        for budget in budgets:
            for n in range(2):
                callers.append(controls(a, budget, ["pause"] * 6, f"{budget}-a{n}"))
                callers.append(controls(b, budget, ["resume"] * 6, f"{budget}-b{n}"))
            mixed = ["resume", "pause", "resume", "pause", "cancel"]
            callers.append(controls((a, b)[race % 2], budget, mixed, f"{budget}-c"))
        with scheduling_noise(cluster):
            answers = [answer for batch in run_together(callers) for answer in batch]
        for budget in budgets:
            mine = {
                reason: (action, reply) for at, reason, action, reply in answers if at == budget
            }
            assert_one_consistent_history([a, b], budget, mine)


def controls(
    api: Api, budget_id: str, actions: list[str], tag: str
) -> Callable[[], list[tuple[str, str, str, Reply]]]:
    """A caller sending `actions` to the budget one after another, each with its own reason;
    it answers (budget, reason, action, reply) per control."""
    path = f"/v1/operations/processes/{budget_id}/control"

    def call() -> list[tuple[str, str, str, Reply]]:
        answers = []
        for n, action in enumerate(actions):
            reason = f"{tag}-{n}"
            answers.append(
                (budget_id, reason, action, api.post(path, {"action": action, "reason": reason}))
            )
        return answers

    return call


def assert_one_consistent_history(
    apis: list[Api], budget_id: str, answers: dict[str, tuple[str, Reply]]
) -> None:
    """Every answer is 200 or 409; the history holds each applied control once, in the order
    applied (each from the state the previous one left); the budget ends where it says."""
    applied = {}
    for reason, (action, (status, body)) in answers.items():
        assert status in (200, 409), body
        if status == 409:
            assert body["code"] == "invalid_transition", body
            continue
        applied[reason] = action
        assert body["status"] == CONTROL_TARGET[action], body
        assert [c["reason"] for c in body["control_history"]].count(reason) == 1, body
    assert applied, answers  # the budget was active: some pause or cancel won

    details = [api.get(f"/v1/operations/processes/{budget_id}") for api in apis]
    assert details[0] == details[1]
    status, detail = details[0]
    assert status == 200, detail
    history = detail["control_history"]
    assert sorted(c["reason"] for c in history) == sorted(applied), history
    assert all(c["action"] == applied[c["reason"]] for c in history), history
    chain = [(c["from_status"], c["to_status"]) for c in history]
    assert [to for _, to in chain] == [CONTROL_TARGET[c["action"]] for c in history], chain
    assert chain[0][0] == "active", chain
    assert all(chain[k][0] == chain[k - 1][1] for k in range(1, len(chain))), chain
    assert detail["status"] == chain[-1][1]
    status, budget = apis[1].get(f"/v1/autonomy/budgets/{budget_id}")
    assert (status, budget["state"]) == (200, detail["status"])


def test_kill_9_of_a_server_and_a_fresh_start_lose_nothing(cluster: Cluster, connect: Connect):
    a, b = connect("A", "kill"), connect("B", "kill")
    written = write_everything(a, b, "kill")
    before = snapshot(a)
    assert snapshot(b) == before

    cluster.servers["A"].kill9()
    fresh_a = cluster.start("A")  # a new process: nothing of A's memory
    with pytest.raises(httpx.TransportError):
        a.get("/v1/traces/")
    assert snapshot(b) == before  # B serves on, alone

    fresh_a.wait_ready()
    fresh = connect("A", "kill")
    assert snapshot(fresh) == before
    assert_replayed(fresh, written)


def test_a_redis_crash_with_aof_loses_nothing_acknowledged(cluster: Cluster, connect: Connect):
    a, b = connect("A", "aof"), connect("B", "aof")
    written = write_everything(a, b, "aof")
    before = snapshot(a)

    cluster.redis.crash()  # kill -9: nothing but what `appendfsync always` wrote survives
    try:
        down = {"detail": "Redis does not answer.", "code": "not_ready"}
        for server in ("A", "B"):
            assert cluster.servers[server].readyz() == (503, down)
        status, body = b.post("/v1/traces/", {**TRACE, "task_id": "while-redis-is-down"})
        assert status >= 500 and set(body) == {"detail", "code"}, body  # refused, as JSON
    finally:
        cluster.redis.start()  # same port, same directory: the AOF is replayed
    for server in ("A", "B"):
        cluster.servers[server].wait_ready(timeout=20)
    assert snapshot(a) == before
    assert snapshot(b) == before
    assert_replayed(b, written)
    write_everything(b, a, "aof-after")  # and both servers write again


def test_a_request_whose_server_is_killed_mid_run_ends_failed_worker_lost(
    cluster: Cluster, connect: Connect
):
    a, b = connect("A", "lease"), connect("B", "lease")
    body = {
        "modality": "speech_to_text",  # the servers' stalling adapter: a run outlasts the test
        "input_artifact_base64": base64.b64encode(b"not really audio").decode(),
        "requested_timeout_seconds": 1,
        "execute_now": False,
    }
    request = created(b.post("/v1/multimodal/requests", body))
    assert request["state"] == "pending"
    path = f"/v1/multimodal/requests/{request['id']}"

    executed: list[Reply | Exception] = []  # A's answer, if any: it is killed mid-run
    runner = threading.Thread(target=lambda: executed.append(_try(a.post, f"{path}/execute")))
    runner.start()
    deadline = time.monotonic() + 10
    status, claimed = b.get(path)
    while claimed["state"] == "pending" and time.monotonic() < deadline:
        status, claimed = b.get(path)
    assert (status, claimed["state"]) == (200, "processing"), claimed  # A claimed it

    cluster.servers["A"].kill9()  # within the run's 1 s timeout
    killed_at = time.monotonic()
    runner.join(timeout=10)
    assert len(executed) == 1 and isinstance(executed[0], httpx.TransportError), executed
    cluster.start("A")  # a fresh A for the other tests, starting while this one goes on

    # The lease is the run's timeout plus the grace (0 here); wait 10 s more (the default
    # grace) to tell "reaped late" from "never reaped".
    deadline = killed_at + 1 + 10 + 3
    status, ended = b.get(path)
    while ended["state"] == "processing" and time.monotonic() < deadline:
        time.sleep(0.05)
        status, ended = b.get(path)
    waited = time.monotonic() - killed_at
    assert (status, ended["state"], ended["error_message"]) == (200, "failed", WORKER_LOST)
    assert ended["result_id"] == ""
    lease = _time(ended["updated_at"]) - _time(claimed["updated_at"])
    assert lease.total_seconds() >= 1, (claimed, ended)  # never before the run's timeout
    status, missing = b.get(f"{path}/result")
    assert (status, missing["code"]) == (404, "not_found"), missing
    assert b.get("/v1/multimodal/requests?state=processing") == (200, [])
    assert b.get("/v1/multimodal/requests?state=failed") == (200, [ended])
    status, hub = b.get("/v1/operations/hub?include=multimodal")
    assert (status, hub["processes"]) == (200, [])
    assert waited < 1 + 3, (
        f"reaped {waited:.1f} s after the kill although the servers run with "
        "MULTIMODAL_LEASE_GRACE_SECONDS=0: the setting is not read from the environment"
    )


# --- the live operations stream (contract §7) -----------------------------------------------


def _stream_events(
    server: ServerProcess, tenant: str, count: int, *, until: Callable[[], Any], last: str = ""
) -> list[dict]:
    """Open the stream on `server` as `tenant`, call `until()` once it is open, and return
    the first `count` events ({id, event, data}); heartbeats and comments are skipped."""
    headers = {"Authorization": f"Bearer {token_for(tenant)}", "Accept": "text/event-stream"}
    if last:
        headers["Last-Event-ID"] = last
    events: list[dict] = []
    with httpx.stream(
        "GET", f"{server.url}/v1/operations/stream", headers=headers, timeout=30
    ) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"] == "text/event-stream"
        fields: dict[str, str] = {}
        lines = r.iter_lines()
        assert next(lines) == ": connected"  # subscribed: now the writes may start
        until()
        for line in lines:
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            if "event" in fields:
                data = json.loads(fields["data"]) if fields.get("data") else {}
                events.append({"id": fields.get("id"), "event": fields["event"], "data": data})
                if len(events) == count:
                    break
            fields = {}
    return events


def test_the_stream_on_one_server_carries_writes_made_through_the_other(
    cluster: Cluster, connect: Connect
):
    a, b = connect("A", "live"), connect("B", "live")
    other = connect("A", "live-other")
    made: dict[str, Any] = {}

    def write() -> None:
        created(other.post("/v1/traces/", {**TRACE, "task_id": "another-tenant"}))
        made["trace"] = created(a.post("/v1/traces/", {**TRACE, "task_id": "live-trace"}))
        made["budget"] = active_budget(a, "live-budget")
        path = f"/v1/operations/processes/{made['budget']['id']}/control"
        made["paused"] = created(a.post(path, {"action": "pause", "reason": "live"}), 200)

    events = _stream_events(cluster.serving("B"), "live", 5, until=write)
    trace, budget = made["trace"], made["budget"]
    assert [(e["event"], e["data"]["id"], e["data"]["status"]) for e in events] == [
        ("process.created", trace["id"], "running"),
        ("process.created", budget["id"], "draft"),
        ("process.updated", budget["id"], "active"),
        ("process.updated", budget["id"], "suspended"),
        ("control.applied", budget["id"], "suspended"),
    ]
    assert {e["data"]["tenant_id"] for e in events} == {"live"}  # never another tenant's
    status, hub = b.get("/v1/operations/hub?include=traces")
    assert status == 200
    assert [p for p in hub["processes"] if p["id"] == trace["id"]] == [events[0]["data"]]
    applied = events[4]
    assert applied["data"]["control"]["reason"] == "live"
    assert applied["data"]["control"] == made["paused"]["control_history"][-1]

    # Resume on A from an id B sent: the backlog lives in Redis, shared by both servers.
    def resume_write() -> None:
        made["later"] = created(b.post("/v1/traces/", {**TRACE, "task_id": "after-resume"}))

    resumed = _stream_events(
        cluster.serving("A"), "live", 3, until=resume_write, last=events[2]["id"]
    )
    assert [e["id"] for e in resumed[:2]] == [events[3]["id"], events[4]["id"]]
    assert resumed[2]["data"]["id"] == made["later"]["id"]
    assert all(e["event"] != "reset" for e in resumed)
