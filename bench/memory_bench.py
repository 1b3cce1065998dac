"""Memory benchmark: does one tenant filled to every cap stay under the README's worst case?

(issue 10 §2) In one process, for ONE tenant, through the public API (the Django test
client with a real tenant token holding every tenant scope), fills each per-tenant store
with maximal records until its caps bite (429 `quota_exceeded`, 409 at a per-record
limit, or eviction), and keeps writing past the cap so eviction is exercised:

- outcomes: events with ~16 KiB metadata (high-entropy strings, nothing interns),
  200-character domain/event_type and a 255-character Idempotency-Key each, aiming at the
  10,000 idempotency keys (stopping after 500 refusals in a row: keyed events are kept
  for their keys, so the byte cap refuses writes long before the key cap), then 300
  unkeyed events;
- traces: one running trace filled with actions (4,000-character summaries and ~16 KiB
  metadata) until its cap or the byte cap, then completed traces with every text field
  at its maximum length, past the byte cap;
- budgets: drafts with 16 KiB `limits` and a 4,000-character description;
- intakes: 300-character titles and 8,000-character summaries;
- workflow runs: a run with 1,000 step events, then completed runs with maximal text;
- control history: pause/resume of active budgets with 1,000-character reasons;
- multimodal: executed text_to_speech (max input_text) and vision_analysis requests
  with results, then pending vision_analysis requests carrying a ~5 MB noise PNG;
- experiments (run first, while the outcomes store still admits the events that join):
  101 creates through the API (200-character keys, 10 variants with 100-character names,
  a 2,000-character description), 1,000 assignments with 200-character subject ids and
  1,000 joining outcome events through the API, then, through `ExperimentService` (the
  API's own service; 2.5 ms a request would take ~12 minutes for a full budget), assignments
  with 200-character subjects until half the byte budget is held and observations (the
  `observe` hook `record_event` calls for an event that joins) spread over every
  experiment, 1.25 x what the rest of the budget holds, so eviction runs; a last 50
  assignments through the API meet the full budget (429).

Text fields use random characters outside the BMP: Python stores those at 4 bytes per
character, as UTF-8 does, so a character-limited field costs the most memory.

Every store is filled by BYTES, not by count: maximal records reach each byte cap long
before any count cap (10,000 records, 10,000 keys), so `kept` is how many maximal records
the byte cap admits, as the store sizes them (`agent33_core.sizing`: an upper bound of
what a record holds once read and rendered), and the growth is what they cost. Every store
is driven past its byte cap.

The harness keeps nothing of its own per request: each request uses a fresh test client
and drops the finalizers Django's test client leaks per request (see
`_drop_harness_leak`), and a control's answer (the process's whole control history) is
not parsed when only its status is needed.

RSS (VmRSS from /proc/self/status) is read after gc.collect() and malloc_trim(0) (so
freed-but-cached heap is not counted as kept) before the run and after each phase;
a store's growth is the largest RSS seen during its phases minus the RSS before them.

Targets: total growth <= README_WORST_CASE_BYTES, and each store's growth <= its own
stated cap x 1.25 (CPython/glibc allocator slack: object headers, dict tables, arena
fragmentation). Exit status 1 when a target is missed.

Run: `.venv/bin/python bench/memory_bench.py` (or `make bench`).
"""

from __future__ import annotations

import base64
import ctypes
import gc
import io
import json
import logging
import os
import random
import secrets
import sys
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agent33_site.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import close_old_connections  # noqa: E402
from django.test import Client  # noqa: E402
from PIL import Image  # noqa: E402

from agent33_core.errors import QuotaExceeded  # noqa: E402
from agent33_site.security.tokens import issue_token  # noqa: E402
from operations.registry import ProcessEntry  # noqa: E402
from operations.services import ENTRY_JSON_CACHE_BYTES, get_operations_service  # noqa: E402
from operations.stream import CREATED, backlog, backlog_bytes, get_stream_bus  # noqa: E402
from outcomes.domain import MetricType, OutcomeEvent  # noqa: E402
from outcomes.experiments import get_experiment_service  # noqa: E402
from outcomes.experiments_store import OBSERVATION_BYTES  # noqa: E402

logging.getLogger("django.request").setLevel(logging.ERROR)  # 429/409/404 are expected here

MiB = 1024 * 1024

# The worst case per tenant at default settings, as stated in README "Memory":
# 64 MiB (outcomes) + 4 x 16 MiB (traces, budgets, intakes, workflow runs)
# + 4 MiB (control history) + 64 MiB (multimodal)
# + 64 MiB (experiments: OUTCOMES_MAX_EXPERIMENT_BYTES_PER_TENANT) = 260 MiB.
README_WORST_CASE_BYTES = 260 * 1024 * 1024
STORE_SLACK = 1.25  # per-store allowance for CPython/glibc allocator overhead

TENANT = "bench-memory-tenant"
SCOPES = [
    "outcomes:read",
    "outcomes:write",
    "workflows:read",
    "workflows:write",
    "workflows:execute",
    "multimodal:read",
    "multimodal:write",
]
JSON_FIELD_BYTES = settings.AGENT33_MAX_JSON_FIELD_BYTES
OPS_BYTES = settings.OPERATIONS_MAX_BYTES_PER_TENANT
OPS_RECORDS = settings.OPERATIONS_MAX_RECORDS_PER_TENANT

_libc = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") else None
_rng = random.Random(10)
# A pool of random non-BMP characters; slices of it are fresh, distinct strings.
_POOL = "".join(chr(c) for c in _rng.choices(range(0x10000, 0x2FFFF), k=1 << 20))


def rss() -> int:
    gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("VmRSS not found in /proc/self/status")


def text(chars: int) -> str:
    """`chars` random non-BMP characters (4 bytes each in memory and in UTF-8)."""
    start = _rng.randrange(0, len(_POOL) - chars)
    return _POOL[start : start + chars]


def blob(max_bytes: int = JSON_FIELD_BYTES) -> dict:
    """A free-form object just under `max_bytes` serialized, of high-entropy ASCII strings."""
    value = {f"k{n}": secrets.token_urlsafe(3000) for n in range(5)}
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    value["k4"] = value["k4"][: len(value["k4"]) - (size - (max_bytes - 16))]
    return value


def _drop_harness_leak() -> None:
    """Django's test client (not the server) reconnects `close_old_connections` to the
    request signals on every request, and each connect registers a `weakref.finalize` on
    that module-level function, which never dies: ~300 bytes kept per request, forever
    (a long-lived client adds one more on itself). Such finalizers can never run, so
    detaching them changes nothing but the harness's own growth."""
    for finalizer in list(weakref.finalize._registry):
        target = finalizer.peek()
        if target is not None and target[0] is close_old_connections:
            finalizer.detach()


class Api:
    def __init__(self) -> None:
        token = issue_token(sub="bench-memory", scopes=SCOPES, tenant_id=TENANT)
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        self.requests = 0

    @property
    def client(self) -> Client:
        """A fresh test client per request, its leftovers dropped (see `_drop_harness_leak`)."""
        _drop_harness_leak()
        return Client()

    def post(
        self, path: str, body: dict, *, answer: bool = True, **headers: str
    ) -> tuple[int, dict]:
        """(status, body); with answer=False a success's body is not parsed (the harness
        need not hold a process's whole control history per control)."""
        self.requests += 1
        response = self.client.post(
            path, json.dumps(body), content_type="application/json", **self.auth, **headers
        )
        if response.status_code >= 500:
            raise SystemExit(f"POST {path}: {response.status_code} {response.content[:300]!r}")
        if not answer and response.status_code < 400:
            return response.status_code, {}
        return response.status_code, response.json()

    def get(self, path: str) -> int:
        self.requests += 1
        return self.client.get(path, **self.auth).status_code


class Tally:
    """Status codes seen while filling one store, and the ids created."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.ids: list[str] = []

    def see(self, status: int, body: dict) -> bool:
        key = str(status) if status < 400 else f"{status} {body.get('code', '')}"
        self.codes[key] = self.codes.get(key, 0) + 1
        if status in (200, 201) and "id" in body:
            self.ids.append(body["id"])
        return status < 400

    def summary(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.codes.items()))


def kept(api: Api, prefix: str, ids: list[str]) -> int:
    return sum(api.get(f"{prefix}/{record_id}") == 200 for record_id in ids)


def maximal_event() -> dict:
    """An outcome event as large as the API accepts: longest texts, 16 KiB of metadata."""
    return {
        "domain": text(200),
        "event_type": text(200),
        "metric_type": "latency_ms",
        "value": _rng.random() * 1000,
        "metadata": blob(),
    }


# Fill phases. Each returns (records kept, detail line).


def fill_outcomes(api: Api) -> tuple[int, str]:
    tally = Tally()
    keys = settings.OUTCOMES_MAX_IDEMPOTENCY_KEYS
    refused_in_a_row = 0
    for i in range(keys + 100):
        if refused_in_a_row >= 500:  # the byte cap bites long before the key cap
            break
        body = maximal_event()
        key = f"{i:08d}-" + secrets.token_urlsafe(200)[:246]
        stored = tally.see(*api.post("/v1/outcomes/events", body, HTTP_IDEMPOTENCY_KEY=key))
        refused_in_a_row = 0 if stored else refused_in_a_row + 1
    unkeyed = Tally()
    for _ in range(300):
        body = maximal_event()
        unkeyed.see(*api.post("/v1/outcomes/events", body))
    dashboard = api.client.get("/v1/outcomes/dashboard", **api.auth).json()
    count = dashboard["summary"]["total_events"]
    return count, (
        f"{sum(tally.codes.values())} keyed writes (stopped after 500 refusals in a row) -> "
        f"{tally.summary()}; 300 unkeyed -> {unkeyed.summary()}"
    )


def fill_traces(api: Api) -> tuple[int, str]:
    tally, actions = Tally(), Tally()

    def trace_body() -> dict:
        return {
            "task_id": text(200),
            "session_id": text(200),
            "run_id": text(200),
            "agent_id": text(200),
            "agent_role": text(200),
            "model": text(200),
        }

    def action_body(n: int) -> dict:
        return {
            "step_id": text(200),
            "action_id": f"a{n}-" + text(190),
            "tool": text(200),
            "status": text(64),
            "duration_ms": 12.5,
            "input_summary": text(4000),
            "output_summary": text(4000),
            "metadata": blob(),
        }

    # The worst single record: a running trace with as many large actions as it takes.
    big = []
    for _ in range(3):
        status, body = api.post("/v1/traces/", trace_body())
        if not tally.see(status, body):
            break
        big.append(body["id"])
        for n in range(settings.OPERATIONS_MAX_ACTIONS_PER_TRACE + 1):
            if not actions.see(*api.post(f"/v1/traces/{body['id']}/actions", action_body(n))):
                break
        api.post(f"/v1/traces/{body['id']}/complete", {"status": "completed"})
    # Then completed traces with every field at its maximum, past the byte cap.
    per_trace = (6 * 200 + 200 + 4000) * 4  # text fields, non-BMP, once completed
    for _ in range(min(OPS_RECORDS, OPS_BYTES // per_trace * 3 // 2)):
        status, body = api.post("/v1/traces/", trace_body())
        if tally.see(status, body):
            api.post(
                f"/v1/traces/{body['id']}/complete",
                {"status": "failed", "failure_code": text(200), "failure_message": text(4000)},
            )
    return kept(api, "/v1/traces", tally.ids), (
        f"traces {tally.summary()}; actions {actions.summary()}"
    )


def fill_budgets(api: Api) -> tuple[int, str]:
    tally = Tally()
    per = JSON_FIELD_BYTES + 4000 * 4 + 2 * 200 * 4
    for _ in range(OPS_BYTES // per * 3 // 2):
        body = {
            "task_id": text(200),
            "agent_id": text(200),
            "description": text(4000),
            "limits": blob(),
        }
        tally.see(*api.post("/v1/autonomy/budgets/", body))
    return kept(api, "/v1/autonomy/budgets", tally.ids), tally.summary()


def fill_intakes(api: Api) -> tuple[int, str]:
    tally = Tally()
    per = (300 + 8000) * 4
    for _ in range(OPS_BYTES // per * 3 // 2):
        tally.see(
            *api.post("/v1/improvements/intakes/", {"title": text(300), "summary": text(8000)})
        )
    return kept(api, "/v1/improvements/intakes", tally.ids), tally.summary()


def fill_workflows(api: Api) -> tuple[int, str]:
    tally, events = Tally(), Tally()

    def run_body(status: str) -> dict:
        return {
            "workflow_name": text(200),
            "trigger_type": "api",
            "status": status,
            "duration_ms": 5.0,
            "error": text(4000),
            "job_id": text(200),
        }

    for _ in range(3):
        status, body = api.post("/v1/workflows/executions/", run_body("running"))
        if not tally.see(status, body):
            break
        for _ in range(settings.OPERATIONS_MAX_ACTIONS_PER_TRACE + 1):
            event = {"step_id": text(200), "type": "step_completed"}
            if not events.see(*api.post(f"/v1/workflows/executions/{body['id']}/events", event)):
                break
    per = (200 + 4000 + 200) * 4
    for _ in range(OPS_BYTES // per * 3 // 2):
        tally.see(*api.post("/v1/workflows/executions/", run_body("completed")))
    return kept(api, "/v1/workflows/executions", tally.ids), (
        f"runs {tally.summary()}; events {events.summary()}"
    )


def fill_control_history(api: Api) -> tuple[int, str]:
    tally, controls = Tally(), Tally()
    budgets = []
    for _ in range(10):
        status, body = api.post("/v1/autonomy/budgets/", {"task_id": "control"})
        if tally.see(status, body):
            api.post(f"/v1/autonomy/budgets/{body['id']}/transition", {"to_state": "active"})
            budgets.append(body["id"])
    cap = settings.OPERATIONS_MAX_CONTROL_HISTORY_BYTES_PER_TENANT
    rounds = cap // (1000 * 4) * 3 // 2 // max(len(budgets), 1) // 2
    for _ in range(rounds):
        for budget_id in budgets:
            for action in ("pause", "resume"):
                controls.see(
                    *api.post(
                        f"/v1/operations/processes/{budget_id}/control",
                        {"action": action, "reason": text(1000)},
                        answer=False,
                    )
                )
    history = 0
    for budget_id in budgets:
        response = api.client.get(f"/v1/operations/processes/{budget_id}", **api.auth)
        history += len(response.json().get("control_history", []))
    return history, f"controls {controls.summary()}"


def noise_png(max_bytes: int) -> bytes:
    side = 1260
    while True:
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)
        if out.tell() <= max_bytes:
            return out.getvalue()
        side -= 8


PNG_B64 = base64.b64encode(noise_png(4_990_000)).decode()


def fill_multimodal(api: Api) -> tuple[int, str]:
    executed, pending = Tally(), Tally()
    for _ in range(4):
        executed.see(
            *api.post(
                "/v1/multimodal/requests",
                {"modality": "text_to_speech", "input_text": text(5000), "requested_by": text(200)},
            )
        )
        executed.see(
            *api.post(
                "/v1/multimodal/requests",
                {"modality": "vision_analysis", "input_artifact_base64": PNG_B64},
            )
        )
    cap = settings.MULTIMODAL_MAX_BYTES_PER_TENANT
    for _ in range(cap // len(PNG_B64) * 2 + 6):
        pending.see(
            *api.post(
                "/v1/multimodal/requests",
                {
                    "modality": "vision_analysis",
                    "input_artifact_base64": PNG_B64,
                    "input_text": text(5000),
                    "requested_by": text(200),
                    "execute_now": False,
                },
            )
        )
    ids = executed.ids + pending.ids
    return kept(api, "/v1/multimodal/requests", ids), (
        f"executed {executed.summary()}; pending {pending.summary()}"
    )


def fill_experiments(api: Api) -> tuple[int, str]:
    created, assigned, joined, refused = Tally(), Tally(), Tally(), Tally()
    service = get_experiment_service()
    caps = service.caps
    keys: list[str] = []
    for n in range(caps.max_experiments + 1):  # the last one meets the count cap (429)
        body = {
            "key": f"{n:03d}-" + secrets.token_urlsafe(150)[:196],
            "variants": [
                {"name": f"v{i}-" + secrets.token_urlsafe(75)[:97], "weight": i + 1}
                for i in range(10)
            ],
            "description": text(2000),
        }
        if created.see(*api.post("/v1/outcomes/experiments", body)):
            keys.append(body["key"])
    # Ten subjects per experiment assigned through the API; the observations name them.
    subjects: list[tuple[str, str]] = []
    for n in range(10 * len(keys)):
        key, subject = keys[n % len(keys)], subject_id(n)
        if assigned.see(
            *api.post(f"/v1/outcomes/experiments/{key}/assignments", {"subject_id": subject})
        ):
            subjects.append((key, subject))
    metrics = [MetricType(m) for m in ("success_rate", "quality_score", "latency_ms", "cost_usd")]
    for n in range(len(subjects)):
        key, subject = subjects[n]
        event = {
            "domain": "experiments",
            "event_type": "run",
            "metric_type": metrics[n % 4].value,
            "value": _rng.random(),
            "metadata": {"experiment": key, "subject_id": subject},
        }
        joined.see(*api.post("/v1/outcomes/events", event, answer=False))
    # The bulk through the service: long-subject assignments to half the budget ...
    service_assigned = 0
    n = len(subjects)
    while service.usage(TENANT)[1] < caps.max_bytes // 2:
        n += 1
        try:
            _, new = service.assign(
                tenant_id=TENANT, key=keys[n % len(keys)], subject_id=subject_id(n)
            )
        except QuotaExceeded:
            break
        service_assigned += new
    # ... then observations of the assigned subjects, past the rest of it (eviction runs).
    room = caps.max_bytes - service.usage(TENANT)[1]
    observations = room // OBSERVATION_BYTES * 5 // 4
    now = datetime.now(UTC)
    for n in range(observations):
        key, subject = subjects[n % len(subjects)]
        service.observe(
            OutcomeEvent(
                id="evt-bench",
                tenant_id=TENANT,
                domain="experiments",
                event_type="run",
                metric_type=metrics[n % 4],
                value=_rng.random() * 1000,
                occurred_at=now - timedelta(microseconds=_rng.randrange(10**10)),
                metadata={"experiment": key, "subject_id": subject},
            )
        )
    # The budget is full: a new subject through the API is refused.
    for n in range(50):
        key = keys[n % len(keys)]
        path = f"/v1/outcomes/experiments/{key}/assignments"
        refused.see(*api.post(path, {"subject_id": subject_id(10**7 + n)}))
    held = 0
    for key in keys:
        report = api.client.get(f"/v1/outcomes/experiments/{key}/report", **api.auth).json()
        held += sum(row["n"] for metric in report["metrics"] for row in metric["variants"])
    total_assigned = assigned.codes.get("201", 0) + service_assigned
    return len(keys) + total_assigned + held, (
        f"experiments {created.summary()}; API assignments {assigned.summary()}; "
        f"joining events {joined.summary()}; {service_assigned:,} service assignments; "
        f"{observations:,} service observations -> {held:,} held; past the budget: "
        f"{refused.summary()}; usage {service.usage(TENANT)[1] / MiB:.1f} MiB"
    )


def subject_id(n: int) -> str:
    """A distinct 200-character subject id (the longest the API takes)."""
    return f"{n:08d}-" + secrets.token_urlsafe(150)[:191]


STORES: list[tuple[str, int, Callable[[Api], tuple[int, str]]]] = [
    # First: its joining events need room in the outcomes store (full of live keys later).
    ("experiments", settings.OUTCOMES_MAX_EXPERIMENT_BYTES_PER_TENANT, fill_experiments),
    ("outcomes", settings.OUTCOMES_MAX_BYTES_PER_TENANT, fill_outcomes),
    ("traces", OPS_BYTES, fill_traces),
    ("budgets", OPS_BYTES, fill_budgets),
    ("intakes", OPS_BYTES, fill_intakes),
    ("workflow runs", OPS_BYTES, fill_workflows),
    (
        "control history",
        settings.OPERATIONS_MAX_CONTROL_HISTORY_BYTES_PER_TENANT,
        fill_control_history,
    ),
    ("multimodal", settings.MULTIMODAL_MAX_BYTES_PER_TENANT, fill_multimodal),
]


CREATE_PATHS = (
    "/v1/outcomes/events",
    "/v1/outcomes/experiments",
    "/v1/traces/",
    "/v1/autonomy/budgets/",
    "/v1/improvements/intakes/",
    "/v1/workflows/executions/",
    "/v1/multimodal/requests",
)


def harness_control(api: Api) -> tuple[int, str]:
    """Full-size requests that are refused (400, nothing stored): the bench's own growth."""
    tally = Tally()
    for _ in range(2_000):
        body = {
            "domain": text(200),
            "event_type": text(200),
            "metric_type": "not-a-metric",
            "value": 1.0,
            "metadata": blob(),
        }
        tally.see(*api.post("/v1/outcomes/events", body))
    for _ in range(20):
        body = {"modality": "not-a-modality", "input_artifact_base64": PNG_B64}
        tally.see(*api.post("/v1/multimodal/requests", body))
    return 0, tally.summary()


class _Shown:
    """A record the hub showed (any object a weak reference can follow)."""


class _LargeEntrySource:
    """A source whose entries are as large as an intake's can be (a 16 KB summary)."""

    def __init__(self) -> None:
        self.summary = text(8000)

    def to_entry(self, record: _Shown) -> ProcessEntry:
        return ProcessEntry.trusted(
            id=f"intake-{id(record):016x}",
            type="improvement_intake",
            status="submitted",
            started_at=datetime.now(UTC),
            name="large",
            tenant_id=TENANT,
            metadata={"tenant_id": TENANT, "summary": self.summary},
        )


def fill_process_buffers() -> tuple[int, str]:
    """What one server process keeps beside the tenants' stores, filled to its bounds: the
    stream backlog (largest entries until OPERATIONS_STREAM_BACKLOG_BYTES binds) and the
    hub's entry JSON (until its 4 MiB bind)."""
    bus = get_stream_bus()
    source = _LargeEntrySource()
    small = ProcessEntry.trusted(
        id="trace-0123456789abcdef",
        type="trace",
        status="running",
        started_at=datetime.now(UTC),
        name="small",
        tenant_id=TENANT,
        metadata={"tenant_id": TENANT},
    )
    for _ in range(backlog()):  # as many events as it holds (the count cap) ...
        bus.publish(CREATED, small, "traces")
    shown: list[_Shown] = []
    for _ in range(2 * backlog_bytes() // (16 * 1024)):  # ... then the largest, to its bytes
        record = _Shown()
        bus.publish(CREATED, source.to_entry(record), "improvements")
        shown.append(record)
    hub = get_operations_service()
    for record in shown:
        hub._entry_json(source, f"intake-{id(record):016x}", [record], 0)
    detail = (
        f"stream backlog {bus.fanout.bytes / MiB:.1f} MiB of {backlog_bytes() / MiB:.0f}; "
        f"hub entry JSON {hub._entry_json.bytes_held / MiB:.1f} MiB of "
        f"{ENTRY_JSON_CACHE_BYTES / MiB:.0f}"
    )
    return len(shown), detail


def main() -> int:
    api = Api()
    # Warm imports, URL resolution and every serializer before the baseline.
    api.get("/healthz")
    for path in CREATE_PATHS:
        api.post(path, {})
        api.get(path)
    rss()
    started_all = time.perf_counter()
    before = rss()
    _, control_detail = harness_control(api)
    harness_growth = rss() - before
    print(f"harness control: {control_detail}: RSS growth {harness_growth / MiB:.1f} MiB")
    before = rss()
    buffered, buffers_detail = fill_process_buffers()
    buffers_growth = rss() - before
    buffers_cap = backlog_bytes() + ENTRY_JSON_CACHE_BYTES
    print(f"process buffers: {buffers_detail}", flush=True)
    baseline = before = rss()
    rows = []
    for name, cap, fill in STORES:
        started = time.perf_counter()
        records, detail = fill(api)
        after = rss()
        rows.append((name, records, after - before, cap, time.perf_counter() - started, detail))
        print(f"{name}: {detail} ({time.perf_counter() - started:.1f} s)", flush=True)
        before = after
    total = before - baseline
    seconds = time.perf_counter() - started_all

    print()
    print(f"one tenant filled through the API: {api.requests:,} requests in {seconds:.1f} s")
    print("filled by bytes: maximal records until each byte cap binds (no count cap is reached)")
    print(f"{'store':<16} | {'kept':>6} | {'RSS growth MiB':>14} | {'stated cap MiB':>14} | ok")
    print("-" * 66)
    met = True
    for name, records, growth, cap, _, _ in rows:
        ok = growth <= cap * STORE_SLACK
        met = met and ok
        print(
            f"{name:<16} | {records:>6,} | {growth / MiB:>14.1f} | {cap / MiB:>14.1f} | "
            f"{'yes' if ok else 'NO'}"
        )
    print("-" * 66)
    print(
        f"{'total':<16} | {'':>6} | {total / MiB:>14.1f} | {README_WORST_CASE_BYTES / MiB:>14.1f} |"
    )
    total_ok = total <= README_WORST_CASE_BYTES
    buffers_ok = buffers_growth <= buffers_cap * STORE_SLACK
    met = met and total_ok and buffers_ok
    print(
        f"{'per process':<16} | {buffered:>6,} | {buffers_growth / MiB:>14.1f} | "
        f"{buffers_cap / MiB:>14.1f} | {'yes' if buffers_ok else 'NO'}  "
        "(stream backlog + hub entry JSON; once per server process, not per tenant)"
    )
    print()
    print(
        f"total RSS growth {total / MiB:.1f} MiB vs README worst case "
        f"{README_WORST_CASE_BYTES / MiB:.0f} MiB: {'under' if total_ok else 'OVER'}"
    )
    print(f"(each store may reach its stated cap x {STORE_SLACK} for allocator slack)")
    print(
        f"(harness control: the same traffic refused with 400 grew RSS by "
        f"{harness_growth / MiB:.1f} MiB, so the growth above is what the stores keep)"
    )
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
