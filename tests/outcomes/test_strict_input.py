"""Strict input on every outcomes endpoint (contract §1, issue 10): what is accepted comes
back exactly as sent; anything else is a 400 naming the field, and stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .conftest import DASHBOARD, EVENTS, HEALTH, ROI, trend_url

VALID = {"domain": "support", "event_type": "ticket", "metric_type": "cost_usd", "value": 0.5}
METRICS = ["success_rate", "quality_score", "latency_ms", "cost_usd", "failure_class"]
# JSON text with the escape written out: a lone surrogate the client really sends.
SURROGATE = "\\ud800"


def post_raw(client, raw: str):
    return client.generic("POST", EVENTS, raw, content_type="application/json")


def assert_nothing_stored(client) -> None:
    assert client.get(EVENTS).json() == []


# --- hostile bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        f'{{"note": "{SURROGATE}"}}',
        f'{{"a": [1, {{"b": {{"c": ["ok", "x{SURROGATE}y"]}}}}]}}',
        f'{{"{SURROGATE}": 1}}',
        f'{{"a": {{"b": [{{"{SURROGATE}key": true}}]}}}}',
    ],
)
def test_lone_surrogate_in_metadata_values_or_keys_at_any_depth_is_400_and_stores_nothing(
    tenant_a, metadata
):
    raw = '{"domain": "d", "event_type": "e", "metric_type": "cost_usd", "value": 1, '
    response = post_raw(tenant_a, raw + f'"metadata": {metadata}}}')
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "\ud800" not in response.content.decode("utf-8", "surrogatepass")
    assert_nothing_stored(tenant_a)


@pytest.mark.parametrize("field", ["domain", "event_type"])
def test_lone_surrogate_in_text_fields_is_400(tenant_a, field):
    raw = '{"domain": "d", "event_type": "e", "metric_type": "cost_usd", "value": 1}'
    raw = raw.replace(f'"{field}": "{field[0]}"', f'"{field}": "a{SURROGATE}"')
    response = post_raw(tenant_a, raw)
    assert response.status_code == 400
    assert_nothing_stored(tenant_a)


@pytest.mark.parametrize("where", ['"value": 1e999', '"value": 1, "metadata": {"x": [1e999]}'])
def test_1e999_anywhere_in_the_body_is_400_and_stores_nothing(tenant_a, where):
    raw = '{"domain": "d", "event_type": "e", "metric_type": "cost_usd", ' + where + "}"
    response = post_raw(tenant_a, raw)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert_nothing_stored(tenant_a)


def test_metadata_over_16_kib_is_400_naming_metadata_and_stores_nothing(tenant_a):
    # Compact JSON {"k":"..."} is 8 bytes plus the text.
    at_cap = {"k": "x" * (16 * 1024 - 8)}
    response = tenant_a.post(EVENTS, {**VALID, "metadata": at_cap}, format="json")
    assert response.status_code == 201
    assert response.json()["metadata"] == at_cap

    tenant_b_like = {"k": "x" * (17 * 1024)}
    response = tenant_a.post(EVENTS, {**VALID, "metadata": tenant_b_like}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == ["metadata"]
    assert len(tenant_a.get(EVENTS).json()) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"domain": 0}, "domain"),
        ({"domain": 1.5}, "domain"),
        ({"domain": True}, "domain"),
        ({"domain": ["d"]}, "domain"),
        ({"event_type": 7}, "event_type"),
        ({"event_type": None}, "event_type"),
        ({"metric_type": ["cost_usd"]}, "metric_type"),
        ({"occurred_at": 1767225600}, "occurred_at"),
    ],
)
def test_non_strings_in_text_fields_are_400_never_coerced(tenant_a, change, field):
    response = tenant_a.post(EVENTS, {**VALID, **change}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert_nothing_stored(tenant_a)


def test_text_is_stored_and_listed_exactly_as_sent_no_trimming(tenant_a):
    created = tenant_a.post(
        EVENTS, {**VALID, "domain": " x ", "event_type": "\tspaced\n"}, format="json"
    ).json()
    assert (created["domain"], created["event_type"]) == (" x ", "\tspaced\n")
    listed = tenant_a.get(EVENTS, {"domain": " x "}).json()
    assert [(e["domain"], e["event_type"]) for e in listed] == [(" x ", "\tspaced\n")]
    assert tenant_a.get(EVENTS, {"domain": "x"}).json() == []
    summary = tenant_a.get(DASHBOARD).json()["summary"]
    assert summary["domains"] == [" x "]


def test_nul_and_rtl_override_are_stored_and_listed_back_exactly(tenant_a):
    domain, event_type = "a\x00b", "\u202eevil\u202c"
    metadata = {"\u202ekey": ["\x00", {"nested": "\u202e\x00"}], "n": 1.5, "big": 10**300}
    response = tenant_a.post(
        EVENTS,
        {**VALID, "domain": domain, "event_type": event_type, "metadata": metadata},
        format="json",
    )
    assert response.status_code == 201
    listed = tenant_a.get(EVENTS).json()
    assert [(e["domain"], e["event_type"], e["metadata"]) for e in listed] == [
        (domain, event_type, metadata)
    ]
    filtered = tenant_a.get(EVENTS, {"domain": domain, "event_type": event_type}).json()
    assert [e["id"] for e in filtered] == [response.json()["id"]]
    dashboard = tenant_a.get(DASHBOARD).json()
    assert dashboard["recent_events"][0]["metadata"] == metadata
    assert dashboard["summary"]["event_types"] == [event_type]


def test_metadata_comes_back_exactly_as_sent(tenant_a):
    metadata = {"f": 0.1, "neg": -0.0, "i": 12345678901234567890, "s": "é☃", "l": [None, True]}
    event = tenant_a.post(EVENTS, {**VALID, "metadata": metadata}, format="json").json()
    assert event["metadata"] == metadata
    assert tenant_a.get(EVENTS).json()[0]["metadata"] == metadata


def test_roi_body_is_strict(tenant_a):
    body = {"domain": "d", "hours_saved_per_success": 1, "cost_per_hour_usd": 1}
    for change, field in [
        ({"domain": 0}, "domain"),
        ({"domain": ""}, "domain"),
        ({"hours_saved_per_success": "1"}, "hours_saved_per_success"),
        ({"window_days": 1.5}, "window_days"),
        ({"window_days": True}, "window_days"),
    ]:
        response = tenant_a.post(ROI, {**body, **change}, format="json")
        assert response.status_code == 400, change
        assert list(response.json()["errors"]) == [field]
    raw = '{"domain": "d", "hours_saved_per_success": 1e999, "cost_per_hour_usd": 1}'
    response = tenant_a.generic("POST", ROI, raw, content_type="application/json")
    assert response.status_code == 400


# --- occurred_at in the future ------------------------------------------------------------------


@pytest.mark.parametrize("ahead", [timedelta(minutes=6), None])
def test_occurred_at_more_than_5_minutes_ahead_is_400_and_stores_nothing(
    tenant_a, anon_client, ahead
):
    if ahead is None:
        occurred_at = "9999-12-31T23:59:59+00:00"
    else:
        occurred_at = (datetime.now(UTC) + ahead).isoformat()
    response = tenant_a.post(EVENTS, {**VALID, "occurred_at": occurred_at}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"].startswith("occurred_at:")
    assert_nothing_stored(tenant_a)
    assert anon_client.get(HEALTH).json() == {"status": "stale", "hours_since_last_event": None}


def test_occurred_at_up_to_5_minutes_ahead_is_accepted(tenant_a):
    soon = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    assert tenant_a.post(EVENTS, {**VALID, "occurred_at": soon}, format="json").status_code == 201


# --- query parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        (EVENTS, "limit=", "limit"),
        (EVENTS, "limit=%D9%A5", "limit"),  # ARABIC-INDIC DIGIT FIVE
        (EVENTS, "limit=%205", "limit"),
        (EVENTS, "limit=5.0", "limit"),
        (EVENTS, "until=", "until"),
        (EVENTS, "since=", "since"),
        (EVENTS, "domain=", "domain"),
        (EVENTS, "event_type=", "event_type"),
        (EVENTS, "metric_type=", "metric_type"),
        (EVENTS, "tenant_id=", "tenant_id"),
        (trend_url("cost_usd"), "window=", "window"),
        (trend_url("cost_usd"), "window=%D9%A5", "window"),
        (trend_url("cost_usd"), "domain=", "domain"),
        (trend_url("cost_usd"), "tenant_id=", "tenant_id"),
        (DASHBOARD, "recent_limit=", "recent_limit"),
        (DASHBOARD, "window=", "window"),
        (DASHBOARD, "domain=", "domain"),
        (DASHBOARD, "tenant_id=", "tenant_id"),
    ],
)
def test_empty_or_non_ascii_query_values_are_400(operator, url, query, field):
    response = operator.get(f"{url}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [field]


def test_roi_empty_tenant_id_query_is_400(operator):
    body = {"domain": "d", "hours_saved_per_success": 1, "cost_per_hour_usd": 1}
    response = operator.post(f"{ROI}?tenant_id=", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["tenant_id"]


# --- enums never echo what was sent ------------------------------------------------------------


@pytest.mark.parametrize("bogus", ["revenue", "%ED%A0%80", "%FF%FE", "%E2%80%AEx", "COST_USD"])
def test_unknown_trend_metric_is_400_naming_allowed_values_without_echo(tenant_a, bogus):
    response = tenant_a.get(trend_url(bogus))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    message = body["errors"]["metric_type"][0]
    assert all(metric in message for metric in METRICS)
    text = response.content.decode()
    for echoed in (bogus, "COST_USD", "revenue", "%", "\u202e", "\ufffd"):
        assert echoed not in text


def test_unknown_metric_type_in_body_and_query_names_allowed_values_without_echo(tenant_a):
    response = tenant_a.post(EVENTS, {**VALID, "metric_type": "\u202erevenue"}, format="json")
    assert response.status_code == 400
    assert all(metric in response.json()["errors"]["metric_type"][0] for metric in METRICS)
    assert "revenue" not in response.content.decode()
    response = tenant_a.get(EVENTS, {"metric_type": "revenue"})
    assert response.status_code == 400
    assert "revenue" not in response.content.decode()
