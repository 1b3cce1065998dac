"""The console in a real browser: Playwright driving Debian's chromium against the live server.

Logs in through /admin/login/, opens every console page, filters the hub, pauses and
resumes a budget, executes a pending multimodal request and checks the outcome charts.
A screenshot of each page lands in build/screenshots/ (git-ignored).

Without /usr/bin/chromium (or the browser named by AGENT33_TEST_CHROMIUM) these tests skip
with a loud reason; `make browsers` installs Debian's chromium.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from multimodal.domain import Modality, RequestState
from multimodal.services import get_multimodal_service
from operations.sources.budgets.services import get_budgets_service

from .conftest import PASSWORD, make_user, seed_all_demo_data

CHROMIUM = Path(os.environ.get("AGENT33_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
TIMEOUT_MS = 15_000

# Playwright's sync API runs an event loop in this thread; the ORM calls made here (test
# users, sessions) are ordinary blocking calls and safe to make.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=(
            "BROWSER TESTS SKIPPED: /usr/bin/chromium is missing. Install Debian chromium "
            "(`make browsers`, or `apt-get install chromium`) to run the console browser tests."
        ),
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="BROWSER TESTS SKIPPED: the playwright package is missing."
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def server(live_server) -> str:
    """The live server's base URL by IP: chromium would try IPv6 for `localhost` first."""
    return live_server.url.replace("://localhost:", "://127.0.0.1:")


@pytest.fixture
def page(browser, server, transactional_db):
    """A logged-in superuser's tab over freshly seeded demo data."""
    seed_all_demo_data()
    make_user("admin", staff=True, superuser=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(f"{server}/admin/login/?next=/admin/")
    tab.fill("#id_username", "admin")
    tab.fill("#id_password", PASSWORD)
    tab.click("input[type=submit]")
    tab.wait_for_url(f"{server}/admin/")
    yield tab
    context.close()


def shot(tab, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_admin_index_lists_the_console_pages(page, server):
    shot(page, "01-admin-index")
    for title in ("Operations hub", "Multimodal requests", "Outcomes"):
        assert page.locator("#content-main").get_by_role("link", name=title, exact=True).count()
    page.locator("#content-main").get_by_role("link", name="Operations hub").click()
    page.wait_for_url(f"{server}/admin/console/hub/")
    assert page.locator("h1").inner_text() == "Operations hub"


def test_hub_filter_then_pause_and_resume_a_budget(page, server):
    page.goto(f"{server}/admin/console/hub/")
    assert page.locator("#hub-processes tr.process-row").count() > 10
    shot(page, "02-hub")

    # Keep only budgets: untick every other type, filter.
    for key in ("traces", "improvements", "workflows", "multimodal"):
        page.uncheck(f"input[name=include][value={key}]")
    page.click("#hub-filter-submit")
    page.wait_for_url("**/admin/console/hub/?*include=budgets*")
    types = page.locator("#hub-processes tr.process-row td:nth-child(2)").all_inner_texts()
    assert types and set(types) == {"autonomy_budget"}
    assert "autonomy_budget: 6" in page.locator("#hub-counts").inner_text()
    shot(page, "03-hub-filtered-budgets")

    budget = get_budgets_service().list(tenant_id="acme", status="active", limit=1)[0]
    page.get_by_role("link", name=budget.id).click()
    page.wait_for_url(f"**/admin/console/hub/{budget.id}/")
    assert page.locator("#process-status").inner_text().strip() == "active"

    page.locator("#process-controls form:has(#control-pause) input[name=reason]").fill(
        "browser test"
    )
    page.click("#control-pause")
    page.wait_for_load_state()
    assert page.locator("#process-status").inner_text().strip() == "suspended"
    assert "browser test" in page.locator("#control-history").inner_text()
    assert page.locator("#control-pause").count() == 0
    shot(page, "04-hub-detail-paused")

    page.click("#control-resume")
    page.wait_for_load_state()
    assert page.locator("#process-status").inner_text().strip() == "active"
    assert page.locator("#control-history tbody tr").count() == 2
    shot(page, "05-hub-detail-resumed")


def test_execute_a_pending_multimodal_request(page, server):
    page.goto(f"{server}/admin/console/multimodal/")
    assert page.locator("#multimodal-requests tr.request-row").count() == 14
    shot(page, "06-multimodal-list")

    pending = get_multimodal_service().list_requests(
        tenant_id="acme", modality=Modality.TEXT_TO_SPEECH, state=RequestState.PENDING, limit=1
    )[0]
    page.get_by_role("link", name=pending.id).click()
    page.wait_for_url(f"**/multimodal/requests/{pending.id}/")
    assert page.locator("#request-state").inner_text().strip() == "pending"
    page.click("#request-execute")
    page.wait_for_load_state()
    assert page.locator("#request-state").inner_text().strip() == "completed"
    audio = page.locator("#result-audio")
    assert audio.get_attribute("src").startswith("data:audio/wav;base64,")
    # The browser decodes the WAV: its duration becomes known (about 1 s of tones).
    duration = page.evaluate(
        """() => new Promise(resolve => {
             const a = document.getElementById('result-audio');
             if (a.readyState >= 1) resolve(a.duration);
             a.addEventListener('loadedmetadata', () => resolve(a.duration));
             a.load();
           })"""
    )
    assert 0.5 < duration < 3
    shot(page, "07-multimodal-executed")

    vision = get_multimodal_service().list_requests(
        tenant_id="globex", modality=Modality.VISION_ANALYSIS, state=RequestState.COMPLETED, limit=1
    )[0]
    page.goto(f"{server}/admin/console/multimodal/requests/{vision.id}/")
    assert "128" in page.locator("#result-data").inner_text()
    shot(page, "08-multimodal-vision")

    page.goto(f"{server}/admin/console/multimodal/policies/globex/")
    assert page.locator("#id_max_artifact_bytes").input_value() == "2000000"
    shot(page, "09-multimodal-policy")


def test_outcomes_page_draws_one_polyline_per_trend(page, server):
    page.goto(f"{server}/admin/console/outcomes/")
    page.select_option("#outcomes-tenant", "acme")
    page.click("#outcomes-filters input[type=submit]")
    page.wait_for_url("**/admin/console/outcomes/?*tenant=acme*")
    charts = page.locator("#outcomes-trends svg.console-chart")
    assert charts.count() == 4
    assert page.locator("#outcomes-trends svg.console-chart polyline").count() == 4
    for index in range(4):
        points = charts.nth(index).locator("polyline").get_attribute("points")
        assert len(points.split()) > 50
    badges = page.locator("#outcomes-trends .console-badge").all_inner_texts()
    assert badges == ["improving", "stable", "improving", "declining"]
    assert page.locator("#outcomes-wow tbody tr").count() == 4
    shot(page, "10-outcomes-acme")

    page.select_option("#outcomes-tenant", "globex")
    page.click("#outcomes-filters input[type=submit]")
    page.wait_for_url("**/admin/console/outcomes/?*tenant=globex*")
    assert page.locator("#outcomes-trends svg.console-chart polyline").count() == 4
    shot(page, "11-outcomes-globex")


def _is_local(url: str, server: str) -> bool:
    return url.startswith((f"{server}/", "data:", "blob:"))


def test_docs_and_console_pages_make_no_request_beyond_this_server(page, server):
    """Every asset, font and logo of the docs and console comes from this server; the CSP
    lets the pages work (no violation of their own) and keeps anything else from loading.

    ReDoc's bundle always renders a Redocly logo from its CDN: the CSP refuses it inside the
    browser (`net::ERR_BLOCKED_BY_CSP`), so it never reaches the network.
    """
    sent: list[str] = []  # requests that reached the network layer
    blocked: list[str] = []
    violations: list[str] = []

    def through_network(route) -> None:
        sent.append(route.request.url)
        if _is_local(route.request.url, server):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", through_network)
    page.on(
        "requestfailed",
        lambda request: (
            blocked.append(request.url) if request.failure == "net::ERR_BLOCKED_BY_CSP" else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto(f"{server}/v1/docs/")
    page.wait_for_selector("#swagger-ui .opblock")  # the operations rendered from the schema
    assert page.locator("#swagger-ui .opblock").count() > 20
    shot(page, "12-swagger-ui")

    page.goto(f"{server}/v1/redoc/")
    page.wait_for_selector("#redoc-container [role=menu]")
    page.wait_for_load_state("networkidle")
    assert "agent33 control plane API" in page.locator("#redoc-container h1").first.inner_text()
    shot(page, "13-redoc")

    speech = get_multimodal_service().list_requests(
        tenant_id="acme", modality=Modality.TEXT_TO_SPEECH, state=RequestState.COMPLETED, limit=1
    )[0]
    budget = get_budgets_service().list(tenant_id="acme", status="active", limit=1)[0]
    for path in (
        "/admin/",
        "/admin/console/",
        "/admin/console/hub/",
        f"/admin/console/hub/{budget.id}/",
        "/admin/console/multimodal/",
        f"/admin/console/multimodal/requests/{speech.id}/",
        "/admin/console/multimodal/policies/acme/",
    ):
        page.goto(f"{server}{path}")
        page.wait_for_load_state("networkidle")
    # The WAV result plays from its data: URL under the policy.
    page.goto(f"{server}/admin/console/multimodal/requests/{speech.id}/")
    duration = page.evaluate(
        """() => new Promise(resolve => {
             const a = document.getElementById('result-audio');
             if (a.readyState >= 1) resolve(a.duration);
             a.addEventListener('loadedmetadata', () => resolve(a.duration));
             a.load();
           })"""
    )
    assert duration > 0

    page.goto(f"{server}/admin/console/outcomes/")
    page.wait_for_load_state("networkidle")
    charts = page.locator("#outcomes-trends svg.console-chart")
    assert charts.count() == 4
    # cost_usd: one line for acme and one for globex (no zigzag between them).
    lines = charts.nth(3).locator("polyline.series")
    assert [lines.nth(i).get_attribute("data-series") for i in range(2)] == ["acme", "globex"]
    assert lines.count() == 2
    shot(page, "14-outcomes-all-tenants")

    assert any(url.startswith(f"{server}/static/") for url in sent)  # the route saw traffic
    assert [url for url in sent if not _is_local(url, server)] == []
    # The policy refused only what is not ours: none of the pages' own code or styles.
    assert all(not _is_local(url, server) for url in blocked)
    assert all("cdn.redoc.ly" in text for text in violations), violations


def seed_experiment() -> str:
    """acme's `prompt-pack-v2`: v2 answers faster (better), v3 slower (worse), success even."""
    from outcomes.domain import MetricType
    from outcomes.experiments import assign_variant, get_experiment_service
    from outcomes.services import get_outcomes_service

    key = "prompt-pack-v2"
    get_experiment_service().create_experiment(
        tenant_id="acme",
        key=key,
        variants=[("v1", 1.0), ("v2", 1.0), ("v3", 1.0)],
        metric_types=[MetricType.LATENCY_MS, MetricType.SUCCESS_RATE],
        description="Prompt pack v2 and v3 against v1",
    )
    latency = {0: 300.0, 1: 240.0, 2: 360.0}
    seen = {0: 0, 1: 0, 2: 0}
    subject = 0
    while min(seen.values()) < 40:
        subject_id = f"user-{subject}"
        variant = assign_variant(key, subject_id, [1.0, 1.0, 1.0])
        subject += 1
        if seen[variant] >= 40:
            continue
        step = seen[variant]
        seen[variant] += 1
        for metric, value in (
            (MetricType.LATENCY_MS, latency[variant] + 10 * (step % 7)),
            (MetricType.SUCCESS_RATE, float(step % 4 != 0)),
        ):
            get_outcomes_service().record_event(
                tenant_id="acme",
                domain="support",
                event_type="answer",
                metric_type=metric,
                value=value,
                metadata={"experiment": key, "subject_id": subject_id},
            )
    return key


def test_experiment_page_draws_intervals_side_by_side_with_coloured_verdicts(page, server):
    key = seed_experiment()
    page.goto(f"{server}/admin/console/outcomes/experiments/")
    # The demo's experiment of each demo tenant, and this one.
    rows = page.locator("#experiments tr.experiment-row")
    assert rows.count() == 3
    assert rows.filter(has_text=key).count() == 1
    shot(page, "15-experiments-list")
    page.get_by_role("link", name=key).click()
    page.wait_for_url(f"**/admin/console/outcomes/experiments/{key}/?tenant=acme")
    cards = page.locator("#experiment-metrics .experiment-card")
    assert cards.count() == 2
    latency = page.locator("#metric-latency_ms")
    # One column per variant, in declared order, each with its mean and its 95 % whisker.
    chart = latency.locator("svg.interval-chart")
    assert [chart.locator("g.variant").nth(i).get_attribute("data-variant") for i in range(3)] == [
        "v1",
        "v2",
        "v3",
    ]
    assert chart.locator("circle.mean").count() == 3
    assert chart.locator("line.ci95").count() == 3
    assert chart.locator("text.variant-n").all_text_contents() == ["n=40", "n=40", "n=40"]
    assert latency.locator("td.variant-n").all_inner_texts() == ["40", "40", "40"]
    verdicts = latency.locator(".console-badge.verdict")
    assert verdicts.all_inner_texts() == ["better", "worse"]
    colours = [
        verdicts.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(2)
    ]
    assert colours == ["rgb(46, 125, 50)", "rgb(198, 40, 40)"]
    # The chart colours each variant by its verdict (control in the neutral blue).
    fills = [chart.locator("circle.mean").nth(i).get_attribute("fill") for i in range(3)]
    assert fills == ["#417690", "#2e7d32", "#c62828"]
    success = page.locator("#metric-success_rate .console-badge.verdict").all_inner_texts()
    assert success == ["inconclusive", "inconclusive"]
    shot(page, "16-experiment-report")


def test_the_hub_page_follows_the_stream_without_reload(page, server, settings):
    """A process created, and a control applied, through the API show on the open hub page."""
    from tests.conftest import bearer_client

    settings.OPERATIONS_STREAM_HEARTBEAT_SECONDS = 1  # the stream's thread ends soon after
    page.goto(f"{server}/admin/console/hub/")
    page.wait_for_selector("#hub-live[data-state=on]")  # the EventSource is open
    page.evaluate("() => { window.notReloaded = true; }")
    api = bearer_client(
        ["workflows:read", "workflows:write", "workflows:execute"], tenant="acme", sub="live"
    )

    created = api.post("/v1/traces/", {"task_id": "live-on-the-page"}, format="json")
    assert created.status_code == 201, created.content
    trace_id = created.json()["id"]
    row = page.locator(f"#hub-processes tr.process-row[data-process-id='{trace_id}']")
    row.wait_for()
    assert row.locator("td").nth(1).inner_text() == "trace"
    assert row.locator("td").nth(2).inner_text().strip() == "running"
    assert row.locator("td").nth(3).inner_text() == "live-on-the-page"
    assert row.locator("td").nth(4).inner_text() == "acme"
    assert (
        page.locator("#hub-processes tr.process-row").first.get_attribute("data-process-id")
        == trace_id
    )  # newest first

    budget = get_budgets_service().list(tenant_id="acme", status="active", limit=1)[0]
    paused = api.post(
        f"/v1/operations/processes/{budget.id}/control",
        {"action": "pause", "reason": "watch it live"},
        format="json",
    )
    assert (paused.status_code, paused.json()["status"]) == (200, "suspended")
    page.wait_for_selector(
        f"#hub-processes tr[data-process-id='{budget.id}'] td:nth-child(3) .console-badge.suspended"
    )
    assert page.evaluate("() => window.notReloaded") is True  # the same page, never reloaded
    assert page.locator("#hub-live").get_attribute("data-state") == "on"
    shot(page, "15-hub-following-the-stream")
