"""`GET /metrics` (contract §6): Prometheus exposition of requests by route and status with
latency histograms, live processes by type, adapter runs, events ingested; protected; right
with several server processes.

Counters are process-wide, so every test reads them before and after the calls it makes
and asserts the difference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from agent33_core.registry import services
from agent33_site.security.tokens import issue_token
from tests.operations.helpers import (
    create_budget,
    create_intake,
    create_multimodal_request,
    create_run,
    create_trace,
)
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "scrape-" + "k" * 40
FAKES = "tests.multimodal.fake_adapters"
EVENTS = "/v1/outcomes/events"
WORKFLOW_SCOPES = ["workflows:read", "workflows:write", "multimodal:read", "multimodal:write"]
Samples = dict[tuple[str, frozenset], float]


@pytest.fixture(autouse=True)
def fresh_services():
    services.reset_all()
    yield
    services.reset_all()


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by sample name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: APIClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_total(samples: Samples, route: str, method: str, status: int) -> float:
    return value(
        samples, "agent33_http_requests_total", route=route, method=method, status=str(status)
    )


def event(metric_type: str = "latency_ms", value: object = 12.5) -> dict:
    return {"domain": "billing", "event_type": "invoke", "metric_type": metric_type, "value": value}


# --- the exposition ---------------------------------------------------------------------


def test_exposition_parses_and_names_every_metric_family(operator_client):
    operator_client.get("/healthz")
    response = operator_client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f.type for f in text_string_to_metric_families(response.content.decode())}
    assert families["agent33_http_requests"] == "counter"
    assert families["agent33_http_request_duration_seconds"] == "histogram"
    assert families["agent33_operations_live_processes"] == "gauge"
    assert families["agent33_operations_stream_subscribers"] == "gauge"
    assert families["agent33_multimodal_adapter_runs"] == "counter"
    assert families["agent33_multimodal_adapter_duration_seconds"] == "histogram"
    assert families["agent33_outcome_events_ingested"] == "counter"


def test_openmetrics_is_served_when_the_scraper_asks_for_it(operator_client):
    response = operator_client.get("/metrics", HTTP_ACCEPT="application/openmetrics-text")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.decode().endswith("# EOF\n")


def test_requests_are_counted_by_route_method_and_status(make_client, operator_client):
    writer = make_client(["outcomes:write"], tenant="t1")
    before = scrape(operator_client)
    assert writer.post(EVENTS, event(), format="json").status_code == 201
    assert writer.post(EVENTS, event(), format="json").status_code == 201
    rejected = writer.post(EVENTS, event(value=True), format="json")
    assert rejected.status_code == 400
    assert rejected.json()["code"] == "invalid"
    after = scrape(operator_client)

    route = "v1/outcomes/events"
    created = requests_total(after, route, "POST", 201) - requests_total(before, route, "POST", 201)
    invalid = requests_total(after, route, "POST", 400) - requests_total(before, route, "POST", 400)
    assert (created, invalid) == (2, 1)
    histogram = "agent33_http_request_duration_seconds_count"
    observed = value(after, histogram, route=route, method="POST") - value(
        before, histogram, route=route, method="POST"
    )
    assert observed == 3


def test_routes_are_url_patterns_never_raw_paths(make_client, operator_client):
    reader = make_client(["workflows:read"], tenant="t1")
    before = scrape(operator_client)
    missing = reader.get("/v1/traces/trace-0123456789abcdef")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    unknown = reader.get("/v1/no-such-thing/secret-looking-value?token=abc")
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not found.", "code": "not_found"}
    odd = reader.generic("BREW", "/v1/traces/")
    assert odd.status_code == 405
    text = operator_client.get("/metrics").content.decode()
    after = parse(text)

    assert "0123456789abcdef" not in text
    assert "secret-looking-value" not in text and "token=abc" not in text
    assert "BREW" not in text  # unknown methods are counted as "other": bounded labels
    detail_404 = requests_total(after, "v1/traces/<pk>", "GET", 404) - requests_total(
        before, "v1/traces/<pk>", "GET", 404
    )
    assert detail_404 == 1
    assert (
        requests_total(after, "v1/.*", "GET", 404) - requests_total(before, "v1/.*", "GET", 404)
        == 1
    )
    assert (
        requests_total(after, "v1/traces", "other", 405)
        - requests_total(before, "v1/traces", "other", 405)
        == 1
    )


def test_a_body_refused_before_any_view_is_counted_unmatched(make_client, operator_client):
    writer = make_client(["outcomes:write"], tenant="t1")
    before = scrape(operator_client)
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100):
        response = writer.post(EVENTS, {**event(), "domain": "x" * 500}, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    after = scrape(operator_client)
    assert (
        requests_total(after, "unmatched", "POST", 413)
        - requests_total(before, "unmatched", "POST", 413)
        == 1
    )


# --- events ingested -----------------------------------------------------------------------


def test_events_ingested_count_new_events_not_idempotent_replays(make_client, operator_client):
    writer = make_client(["outcomes:write"], tenant="t1")
    other = make_client(["outcomes:write"], tenant="t2")
    name = "agent33_outcome_events_ingested_total"
    before = scrape(operator_client)
    first = writer.post(EVENTS, event("cost_usd", 0.25), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    replay = writer.post(EVENTS, event("cost_usd", 0.25), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["id"] == first.json()["id"]
    # The same key in another tenant is another event.
    assert (
        other.post(
            EVENTS, event("cost_usd", 1.0), format="json", HTTP_IDEMPOTENCY_KEY="k1"
        ).status_code
        == 201
    )
    hostile = writer.post(EVENTS, event("cost_usd", "1e999"), format="json")
    assert hostile.status_code == 400
    # JSON text with the escape written out: a lone surrogate the client really sends.
    surrogate = writer.post(
        EVENTS,
        json.dumps({**event("cost_usd"), "domain": "\ud800"}),
        content_type="application/json",
    )
    assert surrogate.status_code == 400
    assert writer.post(EVENTS, event("success_rate", 1), format="json").status_code == 201
    after = scrape(operator_client)

    def moved(metric: str) -> float:
        return value(after, name, metric_type=metric) - value(before, name, metric_type=metric)

    assert (moved("cost_usd"), moved("success_rate"), moved("latency_ms")) == (2, 1, 0)


# --- adapter runs ---------------------------------------------------------------------------


@pytest.fixture
def crashing_vision(settings):
    settings.MULTIMODAL_ADAPTERS = {
        **settings.MULTIMODAL_ADAPTERS,
        "vision_analysis": f"{FAKES}.CrashingAdapter",
    }
    services.reset_all()


def test_adapter_runs_failures_and_durations_are_counted(
    make_client, operator_client, crashing_vision
):
    from tests.multimodal.conftest import b64, image_bytes

    writer = make_client(["multimodal:read", "multimodal:write"], tenant="t1")
    runs, seconds = (
        "agent33_multimodal_adapter_runs_total",
        "agent33_multimodal_adapter_duration_seconds_count",
    )
    before = scrape(operator_client)
    spoken = writer.post(
        "/v1/multimodal/requests",
        {"modality": "text_to_speech", "input_text": "hello"},
        format="json",
    )
    assert spoken.status_code == 201
    assert spoken.json()["state"] == "completed"
    seen = writer.post(
        "/v1/multimodal/requests",
        {"modality": "vision_analysis", "input_artifact_base64": b64(image_bytes())},
        format="json",
    )
    assert seen.status_code == 201
    assert seen.json()["state"] == "failed"
    assert "ZeroDivisionError" in seen.json()["error_message"]
    # A retry of the failed request is a second run.
    retried = writer.post(f"/v1/multimodal/requests/{seen.json()['id']}/execute")
    assert retried.status_code == 200
    assert retried.json()["state"] == "failed"
    after = scrape(operator_client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(runs, modality="text_to_speech", outcome="completed") == 1
    assert moved(runs, modality="text_to_speech", outcome="failed") == 0
    assert moved(runs, modality="vision_analysis", outcome="failed") == 2
    assert moved(runs, modality="vision_analysis", outcome="completed") == 0
    assert moved(seconds, modality="text_to_speech") == 1
    assert moved(seconds, modality="vision_analysis") == 2


# --- live processes --------------------------------------------------------------------------


def live(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["type"]: number
        for (name, labels), number in samples.items()
        if name == "agent33_operations_live_processes"
    }


def test_live_processes_by_type_match_the_hub_for_every_tenant(make_client, operator_client):
    t1 = make_client(WORKFLOW_SCOPES, tenant="t1", sub="alice")
    t2 = make_client(WORKFLOW_SCOPES, tenant="t2", sub="bob")
    traces = [create_trace(t1), create_trace(t1), create_trace(t2)]
    create_budget(t1, state="active")
    create_budget(t2, state="active")
    create_budget(t2)  # a draft is not live
    create_intake(t1, analyzing=True)
    create_intake(t2)  # submitted is not live
    create_run(t1)
    create_run(t2, hours_ago=48)  # older than the hub's default `since`
    create_multimodal_request(t2)

    hub = operator_client.get("/v1/operations/hub")
    assert hub.status_code == 200
    expected = {
        "trace": 3,
        "autonomy_budget": 2,
        "improvement_intake": 1,
        "workflow": 1,
        "multimodal_request": 1,
    }
    assert hub.json()["counts"] == expected
    assert live(scrape(operator_client)) == expected

    done = t1.post(
        f"/v1/traces/{traces[0]['id']}/complete",
        {"status": "completed", "failure_code": "", "failure_message": ""},
        format="json",
    )
    assert done.status_code == 200
    assert live(scrape(operator_client))["trace"] == 2
    assert operator_client.get("/v1/operations/hub").json()["counts"]["trace"] == 2


def test_a_state_store_that_does_not_answer_leaves_only_the_live_gauge_out(
    operator_client, monkeypatch
):
    import redis

    from operations.registry import registry

    def unavailable(**kwargs):
        raise redis.ConnectionError("Redis is restarting")

    source = registry.by_type("trace")
    monkeypatch.setattr(source, "live_page", unavailable)
    samples = scrape(operator_client)
    assert live(samples) == {}
    assert any(name == "agent33_http_requests_total" for name, _ in samples)


# --- who may scrape -----------------------------------------------------------------------------


def test_anonymous_scrape_is_401_json(anon_client):
    response = anon_client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_operator_without_admin_is_403(make_client):
    response = make_client(["workflows:read", "outcomes:read"]).get("/metrics")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Missing required scope: admin",
        "code": "permission_denied",
    }


def test_tenant_principal_is_403_even_with_admin(make_client):
    response = make_client(["admin"], tenant="t1").get("/metrics")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_tampered_token_is_401(operator_client):
    token = issue_token(sub="operator", scopes=["admin"], tenant_id="")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token[:-2]}xx")
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@override_settings(AGENT33_METRICS_TOKEN=METRICS_TOKEN)
def test_metrics_token_scrapes_and_grants_nothing_else():
    scraper = APIClient()
    scraper.credentials(HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    response = scraper.get("/metrics")
    assert response.status_code == 200
    assert "agent33_http_requests_total" in response.content.decode()
    # It is not a JWT: every API endpoint refuses it.
    for path in ("/v1/whoami/", "/v1/operations/hub", "/v1/outcomes/events"):
        refused = scraper.get(path)
        assert refused.status_code == 401, path
        assert refused.json()["code"] == "authentication_failed"


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {METRICS_TOKEN}x",
        f"Bearer {METRICS_TOKEN[:-1]}",
        "Bearer " + "k" * 10_000,
        "Bearer é" + METRICS_TOKEN,
        f"Token {METRICS_TOKEN}",
        f"Bearer {METRICS_TOKEN} {METRICS_TOKEN}",
    ],
)
@override_settings(AGENT33_METRICS_TOKEN=METRICS_TOKEN)
def test_a_wrong_metrics_token_is_refused(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["code"] in {"authentication_failed", "not_authenticated"}
    assert METRICS_TOKEN not in response.content.decode()


def test_no_token_configured_means_no_token_access():
    for header in ("Bearer ", "Bearer  ", "Bearer x"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/metrics")
        assert response.status_code == 401, header
        assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_staff_sessions_superuser_scrapes_other_staff_do_not():
    users = get_user_model()
    root = users.objects.create_superuser("root", "root@example.com", "pw-root-12345")
    staff = users.objects.create_user("staff", "s@example.com", "pw-staff-12345", is_staff=True)
    client = APIClient()
    client.force_login(root)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "agent33_http_requests_total" in response.content.decode()
    client.force_login(staff)
    refused = client.get("/metrics")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Missing required scope: admin"


def test_metrics_is_not_part_of_the_api_schema(anon_client):
    response = anon_client.get("/v1/schema/?format=json")
    assert response.status_code == 200
    assert "/metrics" not in response.json()["paths"]


# --- several server processes --------------------------------------------------------------------

PRIVATE = "m" * 24 + "-private-secret-value-for-metrics-tests-01"
SHARED_LIMIT = 30  # reads per principal per day, across every worker


class TwoWorkerServer:
    """`manage.py serve` with two gunicorn workers on Redis, its metrics directory known."""

    def __init__(self, process: subprocess.Popen, url: str, multiproc: Path) -> None:
        self.process = process
        self.url = url
        self.multiproc = multiproc

    def workers(self) -> set[str]:
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        )
        return set(found.stdout.split())

    def counting_workers(self) -> set[str]:
        """Pids with a counter file in the metrics directory (they answered a request)."""
        return {p.stem.rsplit("_", 1)[-1] for p in self.multiproc.glob("counter_*.db")}


@pytest.fixture(scope="module")
def two_workers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if request.config.getoption("--state-backend") != "redis":
        pytest.skip("starts a real two-process server: runs in the Redis session")
    redis_server = request.getfixturevalue("redis_server")
    workdir = tmp_path_factory.mktemp("two-workers")
    port = free_port()
    multiproc = workdir / "prometheus"
    multiproc.mkdir()
    (multiproc / "counter_999999.db").write_bytes(b"stale")  # an earlier start's file
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AGENT33_"))}
    env = {
        **clean,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": PRIVATE,
        "AGENT33_JWT_SECRET": PRIVATE,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback for the test only
        "AGENT33_SQLITE_PATH": str(workdir / "db.sqlite3"),
        "AGENT33_STATE_BACKEND": "redis",
        "AGENT33_REDIS_URL": redis_server.url,
        "AGENT33_REDIS_PREFIX": "metrics-test",
        "AGENT33_WORKERS": "2",
        "AGENT33_THREADS": "2",
        "AGENT33_METRICS_TOKEN": METRICS_TOKEN,
        "AGENT33_RATE_LIMITS": f"read={SHARED_LIMIT}/day",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "PORT": str(port),
    }
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = TwoWorkerServer(process, f"http://127.0.0.1:{port}", multiproc)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            try:
                if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server not ready"
            time.sleep(0.1)
        assert len(server.workers()) == 2
        yield server
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def test_one_scrape_adds_up_every_worker_process(two_workers):
    """Each worker counts into the shared directory; a scrape (whichever worker answers
    it) sums them."""
    assert not (two_workers.multiproc / "counter_999999.db").exists()  # a fresh start
    workers = two_workers.workers()
    sent = 0
    # Each request on a new connection, until both workers have answered some.
    while sent < 400 and not workers <= two_workers.counting_workers():
        for _ in range(20):
            response = httpx.get(f"{two_workers.url}/healthz", headers={"Connection": "close"})
            assert response.status_code == 200
            assert response.json() == {"status": "ok"}
            sent += 1
    assert workers <= two_workers.counting_workers()

    scraper = {"Authorization": f"Bearer {METRICS_TOKEN}", "Connection": "close"}
    for _ in range(6):  # whichever worker answers, the scrape holds every worker's count
        scraped = httpx.get(f"{two_workers.url}/metrics", headers=scraper)
        assert scraped.status_code == 200
        samples = parse(scraped.text)
        assert requests_total(samples, "healthz", "GET", 200) == sent
        assert requests_total(samples, "readyz", "GET", 200) >= 1


def test_a_rate_limit_is_shared_by_every_worker_process(two_workers):
    """AGENT33_RATE_LIMITS counts in Redis: two workers admit exactly the limit between them."""
    with override_settings(AGENT33_JWT_SECRET=PRIVATE):
        token = issue_token(sub="shared-bot", scopes=["workflows:read"], tenant_id="t1")
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    statuses = []
    for _ in range(SHARED_LIMIT + 10):
        response = httpx.get(f"{two_workers.url}/v1/whoami/", headers=headers)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json()["code"] == "rate_limited"
            assert int(response.headers["Retry-After"]) >= 1
    assert statuses.count(200) == SHARED_LIMIT
    assert statuses.count(429) == 10


def test_a_dead_workers_live_gauges_go_with_it(two_workers):
    """gunicorn's child_exit hook (agent33_site/observability/gunicorn_conf.py) tells
    prometheus-client the worker died, so its live gauges stop counting; its counters stay."""
    before = two_workers.workers()
    victim = sorted(before)[0]
    gauge = two_workers.multiproc / f"gauge_livesum_{victim}.db"
    counter = two_workers.multiproc / f"counter_{victim}.db"
    assert gauge.exists()
    os.kill(int(victim), 9)
    deadline = time.monotonic() + 60
    while gauge.exists() or len(two_workers.workers() - {victim}) < 2:
        assert time.monotonic() < deadline, "the master did not replace the worker"
        time.sleep(0.1)
    assert counter.exists()
    scraper = {"Authorization": f"Bearer {METRICS_TOKEN}", "Connection": "close"}
    scraped = httpx.get(f"{two_workers.url}/metrics", headers=scraper)
    assert scraped.status_code == 200
    assert value(parse(scraped.text), "agent33_operations_stream_subscribers") == 0
