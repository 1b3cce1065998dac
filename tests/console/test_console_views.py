"""The staff console through Django's test client: pages, filters, access, controls, forms."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from multimodal.domain import Modality, RequestState
from multimodal.services import get_multimodal_service
from operations.sources.budgets.services import get_budgets_service
from operations.sources.workflows.services import get_workflow_runs_service
from outcomes.domain import MetricType
from outcomes.services import get_outcomes_service

from .conftest import PASSWORD, logged_in, make_user

pytestmark = pytest.mark.django_db

HUB = "/admin/console/hub/"
MULTIMODAL = "/admin/console/multimodal/"
OUTCOMES = "/admin/console/outcomes/"
PAGES = ["/admin/console/", HUB, MULTIMODAL, OUTCOMES, "/admin/console/multimodal/policies/acme/"]


def html(response) -> str:
    return response.content.decode()


def rows(page: str, table_id: str) -> list[str]:
    """The <tr> rows of a table's body."""
    body = page.split(f'id="{table_id}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr.*?</tr>", body, flags=re.S)


def budget_in(state: str, tenant: str = "acme") -> str:
    return get_budgets_service().list(tenant_id=tenant, status=state, limit=1)[0].id


def request_in(state: RequestState, modality: Modality | None = None, tenant="acme") -> str:
    records = get_multimodal_service().list_requests(
        tenant_id=tenant, state=state, modality=modality, limit=1
    )
    return records[0].id


# --- access ---------------------------------------------------------------------------


def test_admin_index_lists_the_three_console_pages(operator):
    response = operator.get("/admin/")
    assert response.status_code == 200
    page = html(response)
    assert "Staff console" in page
    for title, url in (("Operations hub", HUB), ("Multimodal requests", MULTIMODAL)):
        assert f'<a href="{url}">{title}</a>' in page
    assert f'<a href="{OUTCOMES}">Outcomes</a>' in page


def test_read_only_staff_sees_the_console_on_the_admin_index_as_view_links(viewer):
    response = viewer.get("/admin/")
    assert response.status_code == 200
    page = html(response)
    assert f'<a href="{HUB}">Operations hub</a>' in page
    assert f'<a href="{HUB}" class="viewlink"' in page
    assert f'<a href="{HUB}" class="changelink"' not in page


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitor_is_sent_to_the_admin_login(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={url}"


@pytest.mark.parametrize("url", PAGES)
def test_non_staff_user_is_sent_to_the_admin_login(url):
    client = logged_in(make_user("customer", staff=False))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_inactive_staff_user_is_sent_to_the_admin_login():
    client = logged_in(make_user("gone", staff=True, superuser=True, active=False))
    response = client.get(HUB)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_logs_in_through_the_admin_login_form_and_reaches_the_hub():
    make_user("ops", staff=True)
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/console/hub/",
        {"username": "ops", "password": PASSWORD, "next": HUB},
    )
    assert response.status_code == 302
    assert response["Location"] == HUB
    page = client.get(HUB)
    assert page.status_code == 200
    assert "<h1>Operations hub</h1>" in html(page)


@pytest.mark.parametrize("url", PAGES)
def test_every_console_page_uses_the_admin_look_and_sidebar(operator, demo, url):
    response = operator.get(url)
    assert response.status_code == 200
    page = html(response)
    assert 'id="site-name"' in page  # the admin header
    assert 'id="nav-sidebar"' in page  # the admin's app list, with the console in it
    assert "/static/admin/css/base.css" in page


def test_console_index_tells_read_only_staff_that_controls_are_hidden(viewer):
    response = viewer.get("/admin/console/")
    assert response.status_code == 200
    assert "read-only staff" in html(response)


# --- operations hub -------------------------------------------------------------------


def test_hub_lists_live_processes_newest_first_with_counts_per_type(operator, demo):
    response = operator.get(HUB)
    assert response.status_code == 200
    page = html(response)
    snapshot = response.context["snapshot"]
    assert snapshot.counts == {
        "trace": 5,
        "autonomy_budget": 6,
        "improvement_intake": 4,
        "workflow": snapshot.counts["workflow"],
        "multimodal_request": 4,
    }
    assert snapshot.counts["workflow"] >= 6
    started = [p.started_at for p in snapshot.processes]
    assert started == sorted(started, reverse=True)
    assert "autonomy_budget: <strong>6</strong>" in page
    assert len(rows(page, "hub-processes")) == len(snapshot.processes)


def test_hub_type_checkboxes_narrow_the_table(operator, demo):
    response = operator.get(HUB, {"include": ["budgets"]})
    assert response.status_code == 200
    snapshot = response.context["snapshot"]
    assert snapshot.counts == {"autonomy_budget": 6}
    assert {p.type for p in snapshot.processes} == {"autonomy_budget"}
    page = html(response)
    assert 'value="budgets" id="id_include_0" checked>' in page
    assert 'value="traces" id="id_include_3">' in page  # unchecked
    assert all("type-autonomy_budget" in row for row in rows(page, "hub-processes"))


def test_hub_status_filter_shows_every_process_of_that_status(operator, demo):
    response = operator.get(HUB, {"include": ["budgets"], "status": "expired"})
    assert response.status_code == 200
    snapshot = response.context["snapshot"]
    assert snapshot.counts == {"autonomy_budget": 2}
    assert {p.status for p in snapshot.processes} == {"expired"}
    assert "in status <code>expired</code>" in html(response)


def test_hub_tenant_filter_shows_one_tenant(operator, demo):
    response = operator.get(HUB, {"tenant": "globex"})
    assert response.status_code == 200
    processes = response.context["snapshot"].processes
    assert processes and {p.tenant_id for p in processes} == {"globex"}


def test_hub_since_filter_narrows_workflow_runs(operator, demo):
    all_runs = operator.get(HUB, {"include": ["workflows"], "since": "2000-01-01T00:00"})
    recent = operator.get(HUB, {"include": ["workflows"]})
    assert all_runs.status_code == recent.status_code == 200
    everything = all_runs.context["snapshot"].counts["workflow"]
    last_day = recent.context["snapshot"].counts["workflow"]
    assert everything == 28  # 12 + 12 + 4 runs over two days
    assert 0 < last_day < everything


def test_hub_bad_filter_value_is_a_form_error_not_a_500(operator, demo):
    response = operator.get(HUB, {"since": "yesterday-ish", "include": ["nonsense"]})
    assert response.status_code == 200
    page = html(response)
    assert "Please correct the filters below" in page
    assert "Enter a valid date/time." in page
    assert "Select a valid choice. nonsense is not one of the available choices." in page


def test_process_detail_shows_metadata_actions_and_control_history(operator, demo):
    paused = budget_in("suspended")
    response = operator.get(f"{HUB}{paused}/")
    assert response.status_code == 200
    page = html(response)
    assert "acme-crm-sync" in page
    history = rows(page, "control-history")
    assert len(history) == 1
    assert "pause" in history[0] and "Spend spike under review" in history[0]
    assert 'id="control-resume"' in page and 'id="control-cancel"' in page
    assert 'id="control-pause"' not in page  # pause is not allowed while suspended

    run = get_workflow_runs_service().list(tenant_id="acme", status="completed", limit=1)[0]
    detail = html(operator.get(f"{HUB}{run.id}/"))
    steps = rows(detail, "process-actions")
    assert len(steps) == 3 and "fetch" in steps[0]
    assert "No control is allowed" in detail


def test_process_detail_of_unknown_id_is_404(operator, demo):
    response = operator.get(f"{HUB}budget-0000000000000000/")
    assert response.status_code == 404


def test_superuser_pauses_and_resumes_a_budget_from_the_detail_page(operator, demo):
    budget = budget_in("active")
    url = f"{HUB}{budget}/control/"
    paused = operator.post(url, {"action": "pause", "reason": "cost review"}, follow=True)
    assert paused.status_code == 200
    assert paused.context["process"].status == "suspended"
    assert f"Applied &#x27;pause&#x27; to {budget}." in html(paused)

    resumed = operator.post(url, {"action": "resume"}, follow=True)
    assert resumed.status_code == 200
    detail = resumed.context["process"]
    assert detail.status == "active"
    history = [
        (c.action, c.from_status, c.to_status, c.actor, c.reason) for c in detail.control_history
    ]
    assert history == [
        ("pause", "active", "suspended", "root", "cost review"),
        ("resume", "suspended", "active", "root", ""),
    ]


def test_refused_control_is_an_admin_error_message_not_a_500(operator, demo):
    budget = budget_in("active")
    response = operator.post(f"{HUB}{budget}/control/", {"action": "resume"}, follow=True)
    assert response.status_code == 200
    page = html(response)
    assert 'class="error"' in page
    assert "(invalid_transition)" in page
    assert response.context["process"].status == "active"


def test_control_a_type_without_controls_reports_unsupported_action(operator, demo):
    run = get_workflow_runs_service().list(tenant_id="acme", status="running", limit=1)[0]
    response = operator.post(f"{HUB}{run.id}/control/", {"action": "pause"}, follow=True)
    assert response.status_code == 200
    assert "(unsupported_action)" in html(response)


def test_control_with_an_unknown_action_is_an_error_message(operator, demo):
    budget = budget_in("active")
    response = operator.post(f"{HUB}{budget}/control/", {"action": "explode"}, follow=True)
    assert response.status_code == 200
    assert "Invalid control" in html(response)
    assert response.context["process"].status == "active"


def test_control_of_unknown_process_is_404(operator, demo):
    response = operator.post(f"{HUB}trace-0000000000000000/control/", {"action": "cancel"})
    assert response.status_code == 404


def test_control_needs_post(operator, demo):
    response = operator.get(f"{HUB}{budget_in('active')}/control/")
    assert response.status_code == 405


def test_control_without_csrf_token_is_refused(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("root2", staff=True, superuser=True))
    budget = budget_in("active")
    response = client.post(f"{HUB}{budget}/control/", {"action": "pause"})
    assert response.status_code == 403
    assert get_budgets_service().get(tenant_id=None, record_id=budget).state == "active"


def test_read_only_staff_sees_no_control_buttons(viewer, demo):
    response = viewer.get(f"{HUB}{budget_in('active')}/")
    assert response.status_code == 200
    page = html(response)
    assert 'id="control-pause"' not in page and '<form method="post"' not in page
    assert "Read-only staff" in page


def test_read_only_staff_posting_a_control_gets_403_and_nothing_changes(viewer, demo):
    budget = budget_in("active")
    response = viewer.post(f"{HUB}{budget}/control/", {"action": "pause"})
    assert response.status_code == 403
    assert get_budgets_service().get(tenant_id=None, record_id=budget).state == "active"


# --- multimodal -----------------------------------------------------------------------


def test_multimodal_list_shows_every_state_of_the_demo(operator, demo):
    response = operator.get(MULTIMODAL)
    assert response.status_code == 200
    counts = response.context["counts"]
    assert counts == {"pending": 3, "processing": 1, "completed": 6, "failed": 2, "cancelled": 2}
    assert len(rows(html(response), "multimodal-requests")) == 14


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"modality": "vision_analysis"}, {("vision_analysis",)}),
        ({"state": "failed"}, {("failed",)}),
        ({"tenant": "globex"}, {("globex",)}),
    ],
)
def test_multimodal_filters_narrow_the_list(operator, demo, params, expected):
    response = operator.get(MULTIMODAL, params)
    assert response.status_code == 200
    records = response.context["requests"]
    assert records
    key = next(iter(params))
    field = {"modality": "modality", "state": "state", "tenant": "tenant_id"}[key]
    assert {(str(getattr(r, field)),) for r in records} == expected


def test_multimodal_bad_filter_is_a_form_error(operator, demo):
    response = operator.get(MULTIMODAL, {"state": "sleeping"})
    assert response.status_code == 200
    assert "Select a valid choice. sleeping is not one of the available choices." in html(response)


def test_completed_speech_request_plays_its_wav(operator, demo):
    request_id = request_in(RequestState.COMPLETED, Modality.TEXT_TO_SPEECH)
    response = operator.get(f"{MULTIMODAL}requests/{request_id}/")
    assert response.status_code == 200
    page = html(response)
    assert re.search(r'<audio controls [^>]*src="data:audio/wav;base64,UklGR', page)
    assert "Order shipped." in page  # the input summary
    assert 'id="request-execute"' not in page  # nothing leaves completed


def test_completed_vision_request_shows_image_metadata(operator, demo):
    request_id = request_in(RequestState.COMPLETED, Modality.VISION_ANALYSIS)
    page = html(operator.get(f"{MULTIMODAL}requests/{request_id}/"))
    data = "".join(rows(page, "result-data"))
    assert "<th>format</th><td>PNG</td>" in data
    assert "<th>width</th><td>64</td>" in data and "<th>height</th><td>48</td>" in data
    assert "<th>mode</th><td>RGB</td>" in data


def test_superuser_executes_a_pending_request(operator, demo):
    request_id = request_in(RequestState.PENDING, Modality.TEXT_TO_SPEECH)
    before = html(operator.get(f"{MULTIMODAL}requests/{request_id}/"))
    assert 'id="request-execute"' in before and 'id="no-result"' in before
    response = operator.post(f"{MULTIMODAL}requests/{request_id}/execute/", follow=True)
    assert response.status_code == 200
    assert response.context["record"].state is RequestState.COMPLETED
    page = html(response)
    assert f"Executed {request_id}." in page
    assert 'id="result-audio"' in page


def test_executing_a_completed_request_is_a_409_message(operator, demo):
    request_id = request_in(RequestState.COMPLETED, Modality.TEXT_TO_SPEECH)
    response = operator.post(f"{MULTIMODAL}requests/{request_id}/execute/", follow=True)
    assert response.status_code == 200
    assert "Cannot execute a request in state &#x27;completed&#x27;. (invalid_transition)" in html(
        response
    )


def test_retrying_a_failed_request_that_fails_again_says_why(operator, demo):
    request_id = request_in(RequestState.FAILED, Modality.SPEECH_TO_TEXT)
    response = operator.post(f"{MULTIMODAL}requests/{request_id}/execute/", follow=True)
    assert response.status_code == 200
    assert response.context["record"].state is RequestState.FAILED
    assert "The adapter failed: Artifact is not a readable WAV audio file" in html(response)


def test_superuser_cancels_a_pending_request(operator, demo):
    request_id = request_in(RequestState.PENDING, Modality.VISION_ANALYSIS)
    response = operator.post(f"{MULTIMODAL}requests/{request_id}/cancel/", follow=True)
    assert response.status_code == 200
    assert response.context["record"].state is RequestState.CANCELLED
    assert 'id="request-cancel"' not in html(response)


def test_unknown_multimodal_request_is_404(operator, demo):
    assert operator.get(f"{MULTIMODAL}requests/mmreq-0000000000000000/").status_code == 404
    response = operator.post(f"{MULTIMODAL}requests/mmreq-0000000000000000/execute/")
    assert response.status_code == 404


def test_read_only_staff_cannot_execute_or_cancel(viewer, demo):
    request_id = request_in(RequestState.PENDING, Modality.TEXT_TO_SPEECH)
    page = html(viewer.get(f"{MULTIMODAL}requests/{request_id}/"))
    assert 'id="request-execute"' not in page and 'id="request-cancel"' not in page
    for verb in ("execute", "cancel"):
        response = viewer.post(f"{MULTIMODAL}requests/{request_id}/{verb}/")
        assert response.status_code == 403
    assert get_multimodal_service().get_request(tenant_id=None, request_id=request_id).state is (
        RequestState.PENDING
    )


# --- multimodal policies ----------------------------------------------------------------


def test_policy_page_shows_the_tenant_policy(operator, demo):
    response = operator.get(f"{MULTIMODAL}policies/globex/")
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {
        "max_text_chars": 5000,
        "max_artifact_bytes": 2_000_000,
        "max_timeout_seconds": 300,
        "allowed_modalities": ["text_to_speech", "vision_analysis"],
    }
    assert 'id="policy-save"' in html(response)


def test_superuser_saves_a_policy(operator, demo):
    response = operator.post(
        f"{MULTIMODAL}policies/acme/",
        {
            "max_text_chars": "1200",
            "max_artifact_bytes": "1000000",
            "max_timeout_seconds": "90",
            "allowed_modalities": ["text_to_speech"],
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Saved the multimodal policy of tenant acme." in html(response)
    policy = get_multimodal_service().get_policy(tenant_id=None, policy_tenant_id="acme")
    assert policy.model_dump(mode="json") == {
        "max_text_chars": 1200,
        "max_artifact_bytes": 1_000_000,
        "max_timeout_seconds": 90,
        "allowed_modalities": ["text_to_speech"],
    }


def test_invalid_policy_shows_validation_messages_and_keeps_the_old_one(operator, demo):
    response = operator.post(
        f"{MULTIMODAL}policies/acme/",
        {
            "max_text_chars": "0",
            "max_artifact_bytes": "many",
            "max_timeout_seconds": "99999",
            "allowed_modalities": ["telepathy"],
        },
    )
    assert response.status_code == 200
    page = html(response)
    assert "Please correct the errors below." in page
    assert "Ensure this value is greater than or equal to 1." in page
    assert "Enter a whole number." in page
    assert "Ensure this value is less than or equal to 3600." in page
    assert "Select a valid choice. telepathy is not one of the available choices." in page
    policy = get_multimodal_service().get_policy(tenant_id=None, policy_tenant_id="acme")
    assert policy.max_text_chars == 2000 and policy.max_timeout_seconds == 120


def test_read_only_staff_sees_the_policy_disabled_and_cannot_save(viewer, demo):
    response = viewer.get(f"{MULTIMODAL}policies/acme/")
    assert response.status_code == 200
    page = html(response)
    assert 'id="policy-save"' not in page
    assert 'name="max_text_chars" value="2000"' in page and "disabled" in page
    posted = viewer.post(
        f"{MULTIMODAL}policies/acme/",
        {"max_text_chars": "1", "max_artifact_bytes": "1", "max_timeout_seconds": "1"},
    )
    assert posted.status_code == 403
    policy = get_multimodal_service().get_policy(tenant_id=None, policy_tenant_id="acme")
    assert policy.max_text_chars == 2000


def test_policy_picker_opens_the_named_tenant(operator, demo):
    response = operator.get(f"{MULTIMODAL}policies/", {"tenant": "newco"})
    assert response.status_code == 302
    assert response["Location"] == f"{MULTIMODAL}policies/newco/"
    empty = operator.get(f"{MULTIMODAL}policies/", {"tenant": ""})
    assert empty.status_code == 200
    assert "Please give a tenant id." in html(empty)


# --- outcomes ----------------------------------------------------------------------------


def test_outcomes_page_draws_four_trend_charts_with_direction_badges(operator, demo):
    response = operator.get(OUTCOMES, {"tenant": "acme"})
    assert response.status_code == 200
    page = html(response)
    assert page.count('<svg class="console-chart"') == 4 and page.count("<polyline") == 4
    trends = [chart["trend"] for chart in response.context["charts"]]
    directions = {t.metric_type.value: t.direction.value for t in trends}
    assert directions == {
        "success_rate": "improving",
        "quality_score": "stable",
        "latency_ms": "improving",
        "cost_usd": "declining",
    }
    assert '<span class="console-badge improving">improving</span>' in page
    assert '<span class="console-badge declining">declining</span>' in page
    assert "<script" not in page.split('id="content-main"', 1)[1]


def test_outcomes_page_shows_summary_week_over_week_failures_and_recent(operator, demo):
    response = operator.get(OUTCOMES, {"tenant": "globex", "domain": "support-triage"})
    assert response.status_code == 200
    page = html(response)
    dashboard = response.context["dashboard"]
    assert dashboard.summary.domains == ["support-triage"]
    assert f"<th>Total events</th><td>{dashboard.summary.total_events}</td>" in page
    wow = rows(page, "outcomes-wow")
    assert len(wow) == 4 and all(" %</td>" in row for row in wow)
    assert 'console-pct down">-' in wow[0]  # globex's success rate fell week over week
    assert len(rows(page, "outcomes-failures")) == len(dashboard.top_failure_modes) > 0
    assert len(rows(page, "outcomes-recent")) == 15
    assert '<option value="support-triage" selected>' in page


def test_outcomes_for_all_tenants_offers_each_tenant(operator, demo):
    response = operator.get(OUTCOMES)
    assert response.status_code == 200
    assert response.context["tenants"] == ["acme", "globex"]
    assert response.context["selected_tenant"] == "all"
    # One line per tenant in each of the 4 charts, plus the operator's own health checks
    # (tenant "", success_rate only).
    assert html(response).count("<polyline") == 2 * 4 + 1


def test_outcomes_bad_window_is_a_form_error(operator, demo):
    response = operator.get(OUTCOMES, {"window": "0"})
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in html(response)
    assert html(response).count("<polyline") == 2 * 4 + 1  # the default view: one line each


def test_outcomes_page_without_any_event_still_draws_empty_charts(viewer):
    response = viewer.get(OUTCOMES)
    assert response.status_code == 200
    page = html(response)
    assert page.count("<polyline") == 4
    assert "No events." in page and "No failures recorded." in page


# --- rendering details -------------------------------------------------------------------


def meta_pairs(page: str, dl_id: str) -> list[tuple[str, str]]:
    """The (label, value) pairs of a <dl>, each <dt> with the <dd> right after it."""
    body = page.split(f'id="{dl_id}"', 1)[1].split("</dl>", 1)[0]
    return re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", body, flags=re.S)


def test_process_detail_shows_empty_values_visibly_beside_their_labels(operator, demo):
    run = get_workflow_runs_service().list(tenant_id="acme", status="completed", limit=1)[0]
    assert run.error == "" and run.job_id  # the case that used to shift the labels
    response = operator.get(f"{HUB}{run.id}/")
    assert response.status_code == 200
    page = html(response)
    pairs = dict(meta_pairs(page, "process-meta"))
    assert pairs["error"] == '<span class="console-empty" title="empty">—</span>'
    assert pairs["job_id"] == run.job_id
    assert pairs["event_count"] == str(len(run.events))
    assert all(value.strip() for value in pairs.values())  # no <dd></dd> left to collapse


def test_multimodal_detail_shows_an_empty_requested_by_visibly(operator, demo):
    record = get_multimodal_service().create_request(
        tenant_id="acme",
        modality=Modality.TEXT_TO_SPEECH,
        input_text="Hello.",
        requested_by="",
    )
    page = html(operator.get(f"{MULTIMODAL}requests/{record.id}/"))
    pairs = dict(meta_pairs(page, "request-meta"))
    assert pairs["Requested by"] == '<span class="console-empty" title="empty">—</span>'


# --- admin branding ------------------------------------------------------------------------


def test_admin_is_branded_and_view_site_opens_the_api_docs(operator):
    page = html(operator.get("/admin/"))
    assert "Django administration" not in page and "Django site admin" not in page
    assert '<div id="site-name"><a href="/admin/">agent33 control plane</a></div>' in page
    assert "<title>Administration and staff console | agent33 control plane</title>" in page
    assert '<a href="/v1/docs/">View site</a>' in page
    login = html(Client().get("/admin/login/"))
    assert "agent33 control plane" in login and "Django administration" not in login


def test_admin_index_offers_console_pages_as_view_links_never_change_links(operator):
    page = html(operator.get("/admin/"))
    for url in (HUB, MULTIMODAL, OUTCOMES):
        assert f'<a href="{url}" class="viewlink"' in page
        assert f'<a href="{url}" class="changelink"' not in page


# --- outcomes charts: one line per tenant, a date axis and a legend ----------------------


def chart_svgs(page: str) -> list[str]:
    return re.findall(r'<svg class="console-chart".*?</svg>', page, flags=re.S)


def test_all_tenants_charts_draw_one_line_per_tenant_with_dates_and_a_legend(operator, demo):
    response = operator.get(OUTCOMES)
    assert response.status_code == 200
    svgs = chart_svgs(html(response))
    assert len(svgs) == 4
    metrics = ("success_rate", "quality_score", "latency_ms", "cost_usd")
    for metric, svg in zip(metrics, svgs, strict=True):
        # The demo's operator (tenant "") records only success_rate health checks.
        expected = (
            ["(operator)", "acme", "globex"] if metric == "success_rate" else ["acme", "globex"]
        )
        lines = re.findall(r'<polyline class="series" data-series="([^"]+)"', svg)
        assert lines == expected
        legend = re.findall(r'<g class="legend-entry">.*?<text[^>]*>([^<]+)</text>', svg)
        assert legend == expected
        dates = re.findall(r'<text class="x-label"[^>]*>([^<]+)</text>', svg)
        assert len(dates) == 3
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates)
        assert dates == sorted(dates) and dates[0] < dates[-1]  # 14 days, oldest on the left


def test_each_tenant_line_runs_left_to_right_in_time(operator, demo):
    svg = chart_svgs(html(operator.get(OUTCOMES)))[0]
    lines = re.findall(r'<polyline class="series" data-series="([^"]+)"[^>]*points="([^"]+)"', svg)
    assert len(lines) == 3
    for tenant, points in lines:
        xs = [float(p.split(",")[0]) for p in points.split()]
        assert len(xs) == (14 if tenant == "(operator)" else 112)  # 14 days; 2 domains x 56 runs
        assert xs == sorted(xs)  # no zigzag back and forth between tenants


def test_one_tenant_chart_draws_that_tenant_only(operator, demo):
    svgs = chart_svgs(html(operator.get(OUTCOMES, {"tenant": "globex"})))
    for svg in svgs:
        assert re.findall(r'data-series="([^"]+)"', svg) == ["globex"]
        assert svg.count('<g class="legend-entry">') == 1


def test_all_tenants_charts_draw_at_most_eight_lines_and_say_how_many_are_left_out(operator):
    service = get_outcomes_service()
    tenants = [f"tenant-{n:02d}" for n in range(10)]
    for tenant in tenants:
        for value in (0.5, 0.7):
            service.record_event(
                tenant_id=tenant,
                domain="d",
                event_type="run",
                metric_type=MetricType.SUCCESS_RATE,
                value=value,
            )
    response = operator.get(OUTCOMES)
    assert response.status_code == 200
    page = html(response)
    success = chart_svgs(page)[0]
    assert re.findall(r'data-series="([^"]+)"', success) == tenants[:8]
    assert "Charts show the first 8 tenants; 2 more: pick one above." in page
