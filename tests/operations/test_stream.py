"""`GET /v1/operations/stream` (contract §7): every source's events, filtered, resumable.

Django's test client hands the response's iterator to the test: a test opens the stream,
writes through the API, reads the events it expects (skipping heartbeats) and closes the
stream. "Nothing else was sent" is shown without timing: a later marker event the
subscriber can see must be the very next event. Every test runs on both backends.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY

from agent33_core.registry import services
from multimodal.services import WORKER_LOST, get_multimodal_service

from .conftest import ALL_WORKFLOW_SCOPES
from .helpers import (
    control,
    create_budget,
    create_intake,
    create_multimodal_request,
    create_run,
    create_trace,
    hub,
)

pytestmark = pytest.mark.django_db

STREAM = "/v1/operations/stream"
# With heartbeats this often, a read that waits for an event gives up after this many.
MAX_IDLE_FRAMES = 400


@pytest.fixture(autouse=True)
def quick_heartbeat(settings):
    settings.OPERATIONS_STREAM_HEARTBEAT_SECONDS = 0.05


@dataclass
class Event:
    id: str | None
    event: str
    data: dict


class Stream:
    """An open stream: its frames, parsed into events as they come."""

    def __init__(self, response) -> None:
        self.response = response
        self.frames = iter(response.streaming_content)
        self.pending: list[Event] = []
        self.comments: list[str] = []

    def _read_frame(self) -> bool:
        """Parse one chunk; True when it held an event."""
        chunk = next(self.frames).decode()
        found = False
        for block in chunk.split("\n\n"):
            if not block:
                continue
            fields: dict[str, str] = {}
            for line in block.split("\n"):
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    continue
                name, _, value = line.partition(": ")
                fields[name] = value
            if "event" in fields:
                self.pending.append(
                    Event(fields.get("id"), fields["event"], json.loads(fields["data"]))
                )
                found = True
        return found

    def events(self, count: int) -> list[Event]:
        idle = 0
        while len(self.pending) < count:
            if not self._read_frame():
                idle += 1
                assert idle < MAX_IDLE_FRAMES, f"only {self.pending} arrived"
        taken, self.pending = self.pending[:count], self.pending[count:]
        return taken

    def next_heartbeat(self) -> None:
        seen = self.comments.count("heartbeat")
        for _ in range(MAX_IDLE_FRAMES):
            self._read_frame()
            if self.comments.count("heartbeat") > seen:
                return
        raise AssertionError("no heartbeat")

    def close(self) -> None:
        self.response.close()


@pytest.fixture
def open_stream():
    opened: list[Stream] = []

    def open_one(client, query: str = "", **headers) -> Stream:
        response = client.get(f"{STREAM}{query}", HTTP_ACCEPT="text/event-stream", **headers)
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "text/event-stream"
        assert response["Cache-Control"] == "no-cache"
        stream = Stream(response)
        opened.append(stream)
        return stream

    yield open_one
    for stream in opened:
        stream.close()


def kinds(events: list[Event]) -> list[tuple[str, str, str]]:
    return [(e.event, e.data["id"], e.data["status"]) for e in events]


def hub_item(client, process_id: str, query: str = "") -> dict:
    (item,) = [p for p in hub(client, query)["processes"] if p["id"] == process_id]
    return item


# --- each event kind from each source ---------------------------------------------------------


def test_a_trace_is_created_then_updated_once_its_status_changes(t1, open_stream):
    stream = open_stream(t1)
    trace = create_trace(t1, "watch-me")
    (created,) = stream.events(1)
    assert (created.event, created.data) == ("process.created", hub_item(t1, trace["id"]))
    assert created.id
    action = t1.post(
        f"/v1/traces/{trace['id']}/actions",
        {"step_id": "plan", "action_id": "a1", "tool": "shell", "status": "completed"},
        format="json",
    )
    assert action.status_code == 201, action.content  # no status change: no event
    done = t1.post(f"/v1/traces/{trace['id']}/complete", {"status": "completed"}, format="json")
    assert done.status_code == 200, done.content
    (updated,) = stream.events(1)
    assert updated.event == "process.updated"
    assert updated.data == hub_item(t1, trace["id"], "?status=completed")
    assert updated.data["metadata"]["action_count"] == 1
    assert updated.id != created.id


def test_budget_transitions_and_a_hub_control_send_updated_and_control_applied(t1, open_stream):
    stream = open_stream(t1)
    budget = create_budget(t1, "budget-watch", state="active")
    assert kinds(stream.events(2)) == [
        ("process.created", budget["id"], "draft"),
        ("process.updated", budget["id"], "active"),
    ]
    response = control(t1, budget["id"], "pause", reason="night")
    assert response.status_code == 200, response.content
    detail = response.json()
    updated, applied = stream.events(2)
    assert (updated.event, updated.data["status"]) == ("process.updated", "suspended")
    assert applied.event == "control.applied"
    entry = {k: v for k, v in detail.items() if k not in ("actions", "controls", "control_history")}
    assert applied.data == {**entry, "control": detail["control_history"][-1]}
    assert applied.data["control"]["actor"] == "alice"
    assert (applied.data["control"]["from_status"], applied.data["control"]["to_status"]) == (
        "active",
        "suspended",
    )
    assert applied.data == {**hub_item(t1, budget["id"]), "control": applied.data["control"]}


def test_a_refused_control_sends_nothing(t1, open_stream):
    stream = open_stream(t1)
    budget = create_budget(t1, "draft-budget")
    refused = control(t1, budget["id"], "pause")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "invalid_transition"
    marker = create_trace(t1, "marker")
    assert kinds(stream.events(2)) == [
        ("process.created", budget["id"], "draft"),
        ("process.created", marker["id"], "running"),
    ]


def test_intake_transitions_and_workflow_runs_are_streamed(t1, open_stream):
    stream = open_stream(t1)
    intake = create_intake(t1, "Try a new planner", analyzing=True)
    run = create_run(t1, "nightly")
    assert kinds(stream.events(4)) == [
        ("process.created", intake["id"], "submitted"),
        ("process.updated", intake["id"], "triaged"),
        ("process.updated", intake["id"], "analyzing"),
        ("process.created", run["id"], "running"),
    ]


def test_a_multimodal_request_run_now_is_created_then_processing_then_completed(t1, open_stream):
    stream = open_stream(t1)
    response = t1.post(
        "/v1/multimodal/requests",
        {"modality": "text_to_speech", "input_text": "hello"},
        format="json",
    )
    assert response.status_code == 201, response.content
    request = response.json()
    assert request["state"] == "completed"
    events = stream.events(3)
    assert kinds(events) == [
        ("process.created", request["id"], "pending"),
        ("process.updated", request["id"], "processing"),
        ("process.updated", request["id"], "completed"),
    ]
    assert events[0].data["type"] == "multimodal_request"
    assert events[0].data["name"] == "text_to_speech"
    assert events[2].data["metadata"]["result_id"] == request["result_id"]


def test_multimodal_cancels_through_the_api_and_the_hub_are_streamed(t1, open_stream):
    stream = open_stream(t1)
    first = create_multimodal_request(t1)
    cancelled = t1.post(f"/v1/multimodal/requests/{first['id']}/cancel")
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")
    second = create_multimodal_request(t1)
    controlled = control(t1, second["id"], "cancel", reason="stop")
    assert (controlled.status_code, controlled.json()["status"]) == (200, "cancelled")
    events = stream.events(5)
    assert kinds(events) == [
        ("process.created", first["id"], "pending"),
        ("process.updated", first["id"], "cancelled"),
        ("process.created", second["id"], "pending"),
        ("process.updated", second["id"], "cancelled"),
        ("control.applied", second["id"], "cancelled"),
    ]
    assert events[4].data["control"]["action"] == "cancel"
    assert events[4].data["control"]["reason"] == "stop"


def test_a_multimodal_request_whose_lease_ran_out_is_streamed_failed(t1, open_stream, settings):
    settings.MULTIMODAL_LEASE_GRACE_SECONDS = 0
    stream = open_stream(t1)
    created = t1.post(
        "/v1/multimodal/requests",
        {
            "modality": "text_to_speech",
            "input_text": "hi",
            "execute_now": False,
            "requested_timeout_seconds": 1,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    request = created.json()
    # What a worker does before it runs the adapter; here none runs (its process died).
    claimed = get_multimodal_service().claim(tenant_id="t1", request_id=request["id"])
    assert claimed.state == "processing"
    marker = create_multimodal_request(t1)
    time.sleep(1.1)  # the lease: the run's 1 s timeout + grace 0
    read = t1.get(f"/v1/multimodal/requests/{request['id']}")
    assert (read.status_code, read.json()["state"]) == (200, "failed")
    events = stream.events(4)
    assert kinds(events) == [
        ("process.created", request["id"], "pending"),
        ("process.updated", request["id"], "processing"),
        ("process.created", marker["id"], "pending"),
        ("process.updated", request["id"], "failed"),
    ]
    assert events[3].data["metadata"]["error_message"] == WORKER_LOST


# --- who sees what ------------------------------------------------------------------------------


def test_a_tenant_receives_only_its_own_tenants_events(t1, t2, open_stream):
    mine = open_stream(t1)
    foreign = create_trace(t2, "t2-secret")
    own = create_trace(t1, "t1-own")
    (event,) = mine.events(1)
    assert (event.data["id"], event.data["tenant_id"]) == (own["id"], "t1")
    assert foreign["id"] not in json.dumps(event.data)


def test_a_tenant_cannot_widen_its_stream_with_tenant_id(t1, t2, open_stream):
    mine = open_stream(t1, "?tenant_id=t2")
    create_trace(t2, "t2-secret")
    own = create_trace(t1, "t1-own")
    assert [e.data["id"] for e in mine.events(1)] == [own["id"]]


def test_an_operator_sees_every_tenant_or_narrows_to_one(t1, t2, operator_client, open_stream):
    everything = open_stream(operator_client)
    narrowed = open_stream(operator_client, "?tenant_id=t2")
    a = create_trace(t1, "a")
    b = create_trace(t2, "b")
    assert [e.data["id"] for e in everything.events(2)] == [a["id"], b["id"]]
    assert [e.data["id"] for e in narrowed.events(1)] == [b["id"]]


def test_include_narrows_the_stream_to_those_sources(t1, open_stream):
    stream = open_stream(t1, "?include=budgets,multimodal")
    create_trace(t1, "not-shown")
    create_intake(t1, "not shown either")
    budget = create_budget(t1, "shown")
    request = create_multimodal_request(t1)
    assert [(e.data["type"], e.data["id"]) for e in stream.events(2)] == [
        ("autonomy_budget", budget["id"]),
        ("multimodal_request", request["id"]),
    ]


# --- resume, reset, heartbeat ------------------------------------------------------------------


def test_last_event_id_resumes_after_that_event(t1, open_stream):
    first = open_stream(t1)
    traces = [create_trace(t1, f"r{n}")["id"] for n in range(3)]
    seen = first.events(3)
    first.close()
    later = [create_trace(t1, f"later{n}")["id"] for n in range(2)]

    resumed = open_stream(t1, HTTP_LAST_EVENT_ID=seen[0].id)
    events = resumed.events(4)
    assert [e.data["id"] for e in events] == traces[1:] + later
    assert [e.id for e in events[:2]] == [e.id for e in seen[1:]]
    assert "reset" not in [e.event for e in events]
    live = create_trace(t1, "live")
    assert [e.data["id"] for e in resumed.events(1)] == [live["id"]]


def test_the_query_parameter_resumes_too_and_the_header_wins(t1, open_stream):
    first = open_stream(t1)
    traces = [create_trace(t1, f"q{n}")["id"] for n in range(3)]
    seen = first.events(3)
    by_query = open_stream(t1, f"?last_event_id={seen[1].id}")
    assert [e.data["id"] for e in by_query.events(1)] == traces[2:]
    both = open_stream(t1, f"?last_event_id={seen[0].id}", HTTP_LAST_EVENT_ID=seen[1].id)
    assert [e.data["id"] for e in both.events(1)] == traces[2:]


def test_a_resume_skips_other_tenants_events_in_the_backlog(t1, t2, open_stream):
    watcher = open_stream(t1)
    start = create_trace(t1, "start")
    (first,) = watcher.events(1)
    create_trace(t2, "foreign")
    own = create_trace(t1, "own")
    resumed = open_stream(t1, HTTP_LAST_EVENT_ID=first.id)
    assert [e.data["id"] for e in resumed.events(1)] == [own["id"]]
    assert first.data["id"] == start["id"]


def test_an_id_older_than_the_backlog_starts_with_reset(t1, open_stream, settings):
    settings.OPERATIONS_STREAM_BACKLOG = 2
    services.reset_all()
    watcher = open_stream(t1)
    traces, seen = [], []
    for n in range(4):  # read as they come: a reader more than the backlog behind resets
        traces.append(create_trace(t1, f"old{n}")["id"])
        seen += watcher.events(1)
    assert [e.data["id"] for e in seen] == traces

    too_old = open_stream(t1, HTTP_LAST_EVENT_ID=seen[0].id)
    live = create_trace(t1, "after-reset")
    reset, event = too_old.events(2)
    assert (reset.id, reset.event) == (None, "reset")
    assert "backlog" in reset.data["reason"]
    assert event.data["id"] == live["id"]  # then live events, no replay

    in_backlog = open_stream(t1, HTTP_LAST_EVENT_ID=seen[3].id)  # still held: resumed
    assert [e.data["id"] for e in in_backlog.events(1)] == [live["id"]]
    newest = create_trace(t1, "newest")
    assert [e.data["id"] for e in in_backlog.events(1)] == [newest["id"]]


@pytest.mark.parametrize(
    "last_event_id",
    ["garbage", "99999999999999-0", "1-1", "-", "1-", "١٢-٣", "1e999-0", "\ud800", "x" * 5000],
)
def test_an_unknown_or_garbage_id_starts_with_reset(t1, open_stream, last_event_id):
    create_trace(t1, "before")
    stream = open_stream(t1, HTTP_LAST_EVENT_ID=last_event_id)
    live = create_trace(t1, "after")
    reset, event = stream.events(2)
    assert reset.event == "reset"
    assert event.data["id"] == live["id"]


def test_a_quiet_stream_sends_heartbeat_comments(t1, open_stream):
    stream = open_stream(t1)
    stream.next_heartbeat()
    stream.next_heartbeat()
    assert stream.comments[0] == "connected"
    assert stream.pending == []


# --- errors before the stream ---------------------------------------------------------------------


def _json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    return body


def test_no_credentials_is_a_json_401(anon_client):
    response = anon_client.get(STREAM, HTTP_ACCEPT="text/event-stream")
    _json_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_tampered_token_is_a_json_401(make_client):
    client = make_client(["workflows:read"], tenant="t1")
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    _json_error(client.get(STREAM, HTTP_ACCEPT="text/event-stream"), 401, "authentication_failed")


def test_a_missing_scope_is_a_json_403(make_client):
    client = make_client(["multimodal:read"], tenant="t1")
    body = _json_error(
        client.get(STREAM, HTTP_ACCEPT="text/event-stream"), 403, "permission_denied"
    )
    assert body["detail"] == "Missing required scope: workflows:read"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?include=traces,nope", "Invalid include values: nope"),
        ("?include=", "May not be empty."),
        ("?include=" + "x" * 600, "500"),
        ("?tenant_id=", "May not be empty."),
        ("?last_event_id=", "May not be empty."),
        ("?include=traces,%ED%A0%80", "Invalid include values"),
        ("?include=1e999", "Invalid include values: 1e999"),
    ],
)
def test_bad_query_values_are_a_json_400_before_the_stream(t1, query, message):
    body = _json_error(t1.get(STREAM + query, HTTP_ACCEPT="text/event-stream"), 400, "invalid")
    assert message in body["detail"] or message in json.dumps(body.get("errors"))


def test_a_server_full_of_subscribers_refuses_the_next_as_json_503(t1, open_stream, settings):
    settings.OPERATIONS_STREAM_MAX_SUBSCRIBERS = 1
    services.reset_all()
    first = open_stream(t1)
    refused = t1.get(STREAM, HTTP_ACCEPT="text/event-stream")
    body = _json_error(refused, 503, "stream_full")
    assert "OPERATIONS_STREAM_MAX_SUBSCRIBERS" in body["detail"]
    first.close()
    again = open_stream(t1)
    trace = create_trace(t1, "after")
    assert [e.data["id"] for e in again.events(1)] == [trace["id"]]


def test_the_subscriber_gauge_counts_open_streams(t1, open_stream):
    def subscribers() -> float:
        return REGISTRY.get_sample_value("agent33_operations_stream_subscribers") or 0.0

    before = subscribers()
    first, second = open_stream(t1), open_stream(t1)
    assert subscribers() == before + 2
    first.close()
    first.close()  # closing twice counts once
    assert subscribers() == before + 1
    second.close()
    assert subscribers() == before


def test_a_stream_scoped_client_without_other_scopes_still_streams(make_client, t1, open_stream):
    reader = make_client(["workflows:read"], tenant="t1")
    stream = open_stream(reader)
    trace = create_trace(t1, "seen")
    assert [e.data["id"] for e in stream.events(1)] == [trace["id"]]
    assert ALL_WORKFLOW_SCOPES  # the writer (t1) has them all


def test_a_reader_more_than_the_backlog_behind_gets_reset_then_live_events(
    t1, open_stream, settings
):
    settings.OPERATIONS_STREAM_BACKLOG = 2
    services.reset_all()
    slow = open_stream(t1)
    for n in range(3):  # written while the reader reads nothing
        create_trace(t1, f"missed{n}")
    kept = create_trace(t1, "kept")
    reset, *rest = slow.events(3)
    assert reset.event == "reset"  # then what the backlog still held, in order
    while "kept" not in [e.data["name"] for e in rest]:  # Redis may bring it a batch later
        rest += slow.events(1)
    names = [e.data["name"] for e in rest]
    written = ["missed0", "missed1", "missed2", "kept"]
    # What the reader gets is the written order's tail: at most the backlog (two) from when
    # the reset was noticed, then whatever came after; nothing skipped, nothing twice.
    assert names == written[written.index(names[0]) :]
    assert names[0] in ("missed1", "missed2")
    live = create_trace(t1, "live")
    assert [e.data["id"] for e in slow.events(1)] == [live["id"]]
    assert rest[-1].data["id"] == kept["id"]


def test_a_head_request_answers_the_stream_headers_and_holds_no_slot(t1, open_stream, settings):
    settings.OPERATIONS_STREAM_MAX_SUBSCRIBERS = 1
    services.reset_all()
    response = t1.head(STREAM, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert b"".join(response.streaming_content) == b""  # no body for HEAD; it ended
    response.close()
    stream = open_stream(t1)  # the one slot is free again
    trace = create_trace(t1, "after-head")
    assert [e.data["id"] for e in stream.events(1)] == [trace["id"]]


def test_the_backlog_is_bounded_in_bytes_too(t1, open_stream, settings):
    # Long intake summaries make ~16 KB entries: four of them pass 40 KB, so the oldest go.
    settings.OPERATIONS_STREAM_BACKLOG_BYTES = 40_000
    services.reset_all()
    watcher = open_stream(t1)
    ids, seen = [], []
    for n in range(4):
        response = t1.post(
            "/v1/improvements/intakes/", {"title": f"i{n}", "summary": "é" * 8000}, format="json"
        )
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
        seen += watcher.events(1)
    assert [e.data["id"] for e in seen] == ids
    assert {e.data["metadata"]["summary"] for e in seen} == {"é" * 8000}

    too_old = open_stream(t1, HTTP_LAST_EVENT_ID=seen[0].id)  # left the 40 KB backlog
    resumed = open_stream(t1, HTTP_LAST_EVENT_ID=seen[2].id)  # the newest two are held
    live = create_trace(t1, "after")
    reset, event = too_old.events(2)
    assert (reset.id, reset.event) == (None, "reset")
    assert event.data["id"] == live["id"]
    assert [e.data["id"] for e in resumed.events(2)] == [ids[3], live["id"]]
