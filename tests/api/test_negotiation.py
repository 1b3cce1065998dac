"""Content negotiation and body parsing as clients see them (issue 15 made both cheaper).

What integrations send (no Accept, `*/*`, `application/json`) gets JSON without DRF's
full negotiation; everything else still goes through it and answers exactly as before.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db

EVENT = {"domain": "billing", "event_type": "run", "metric_type": "latency_ms", "value": 12.5}


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", " application/json "])
def test_clients_that_take_json_get_json(make_client, accept):
    client = make_client(["outcomes:read"], tenant="acme")
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = client.get("/v1/outcomes/events", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == []


def test_an_unacceptable_media_type_is_406_with_a_json_error(make_client):
    response = make_client(["outcomes:read"], tenant="acme").get(
        "/v1/outcomes/events", HTTP_ACCEPT="application/xml"
    )
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_media_type_parameters_still_negotiate_fully(make_client):
    response = make_client(["outcomes:read"], tenant="acme").get(
        "/v1/outcomes/events", HTTP_ACCEPT="application/json; indent=4"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == []


def test_format_override_still_selects_the_renderer(make_client):
    client = make_client(["outcomes:read"], tenant="acme")
    browsable = client.get("/v1/outcomes/events?format=api", HTTP_ACCEPT="*/*")
    assert browsable.status_code == 200
    assert browsable["Content-Type"].startswith("text/html")
    refused = client.get("/v1/outcomes/events?format=json", HTTP_ACCEPT="text/html")
    assert refused.status_code == 406
    assert refused.json()["code"] == "not_acceptable"


def test_a_browser_gets_the_browsable_api(make_client):
    response = make_client(["outcomes:read"], tenant="acme").get(
        "/v1/outcomes/events", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"Outcome" in response.content


def test_a_body_in_a_declared_charset_is_decoded_with_it(make_client):
    body = json.dumps({**EVENT, "domain": "caf\u00e9"}, ensure_ascii=False).encode("latin-1")
    response = make_client(["outcomes:write"], tenant="acme").post(
        "/v1/outcomes/events", body, content_type="application/json; charset=latin-1"
    )
    assert response.status_code == 201
    assert response.json()["domain"] == "caf\u00e9"


def test_an_unknown_charset_reads_the_body_as_utf8(make_client):
    body = json.dumps({**EVENT, "domain": "caf\u00e9"}, ensure_ascii=False).encode()
    response = make_client(["outcomes:write"], tenant="acme").post(
        "/v1/outcomes/events", body, content_type="application/json; charset=no-such-charset"
    )
    assert response.status_code == 201
    assert response.json()["domain"] == "caf\u00e9"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b'{"domain": ', "application/json", "JSON parse error - Expecting value"),
        (b'{"value": NaN}', "application/json", "JSON parse error - Out of range float"),
        (b'{"d": "\xff"}', "application/json", "JSON parse error - 'utf-8' codec"),
    ],
)
def test_a_body_that_cannot_be_read_is_a_400_saying_why(make_client, body, content_type, message):
    response = make_client(["outcomes:write"], tenant="acme").post(
        "/v1/outcomes/events", body, content_type=content_type
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["detail"].startswith(message)


PARSE_CASES = {
    "event": json.dumps(EVENT).encode(),
    "event_with_metadata": json.dumps({**EVENT, "metadata": {"a": [1, 2.5e10, None]}}).encode(),
    "malformed": b'{"domain": ',
    "not_an_object": b"[1, 2, 3]",
    "lone_surrogate": b'{"domain": "\\ud800", "event_type": "e", "metric_type": "cost_usd", '
    b'"value": 1}',
    "surrogate_key_in_metadata": b'{"metadata": {"\\udc00": 1}}',
    "overflow_float": b'{"value": 1e999}',
    "overflow_written_long": b'{"value": 1' + b"0" * 400 + b".5}",
    "huge_integer": b'{"value": ' + b"9" * 400 + b"}",
    "deep": b'{"metadata": ' + b'{"d": ' * 80 + b"1" + b"}" * 81,
    "nan": b'{"value": NaN}',
    "invalid_utf8": b'{"domain": "\xff"}',
    "whitespace": b"   ",
}


@pytest.mark.parametrize("case", sorted(PARSE_CASES))
def test_a_plain_json_body_answers_exactly_as_drfs_parsing_does(make_client, case):
    # `application/json` takes the kit's direct path (KitRequest); with a charset parameter
    # the same body goes through DRF's negotiation and stream. Both must answer alike.
    client = make_client(["outcomes:write"], tenant="acme")
    direct = client.post("/v1/outcomes/events", PARSE_CASES[case], content_type="application/json")
    negotiated = client.post(
        "/v1/outcomes/events", PARSE_CASES[case], content_type="application/json; charset=utf-8"
    )
    assert direct.status_code == negotiated.status_code
    assert direct.status_code in (201, 400)
    first, second = direct.json(), negotiated.json()
    if direct.status_code == 201:  # two events: only the ids and times differ
        for body in (first, second):
            del body["id"], body["occurred_at"]
    assert first == second


def test_a_utf7_body_cannot_smuggle_a_lone_surrogate(make_client):
    # UTF-7 is the one text codec whose decoding can yield a lone surrogate with no `\u`
    # escape in the text: the parser's shortcut for plain bodies must not trust it.
    body = json.dumps({**EVENT, "domain": "+2AA-"}).encode()
    assert b"+2AA-".decode("utf-7") == "\ud800"
    response = make_client(["outcomes:write"], tenant="acme").post(
        "/v1/outcomes/events", body, content_type="application/json; charset=utf-7"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "JSON parse error - Strings must be valid Unicode (no lone surrogates)."
    )
