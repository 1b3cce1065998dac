"""The compiled serializer accepts exactly what its serializer accepts, with the same values.

Differential: every serializer of the three apps (and the kit's tenant query), fed the
same bodies, valid and hostile (absent, null, blank, too long, lone surrogates, numbers
as text, booleans, 1e308, NaN, huge integers, unknown keys). Wherever DRF's serializer
accepts a body, the compiled function answers the same dict (same values, same types);
wherever DRF refuses, the compiled function refuses too, so the caller's fallback gives
DRF's error body.
"""

from __future__ import annotations

import importlib
import inspect
import math
import random
from typing import Any

import pytest
from rest_framework import serializers

from agent33_core.compiled import compile_serializer
from agent33_core.fields import TenantQuerySerializer
from agent33_core.views import shared_serializer

MODULES = [
    "outcomes.serializers",
    "operations.serializers",
    "multimodal.serializers",
    "operations.sources.traces.serializers",
    "operations.sources.budgets.serializers",
    "operations.sources.intakes.serializers",
    "operations.sources.workflows.serializers",
]
BODIES_PER_SERIALIZER = 400

HOSTILE = [
    None,
    "",
    " ",
    " padded ",
    "x" * 201,
    "x" * 5000,
    "\ud800",
    "ok\udfffok",
    "\x00",
    "5",
    "1e999",
    0,
    1,
    -1,
    5,
    1.5,
    -0.0,
    1e308,
    -1e308,
    2**53 + 1,
    2**70,
    math.inf,
    math.nan,
    True,
    False,
    [],
    ["a"],
    {},
    {"k": "v"},
    {"k": math.inf},
    {"\ud800": 1},
    "2026-11-30T10:00:00Z",
    "2026-11-30T10:00:00",
    "2026-13-40T99:00:00Z",
]


def input_serializers() -> list[type[serializers.Serializer]]:
    found: dict[str, type[serializers.Serializer]] = {"tenant": TenantQuerySerializer}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, serializers.Serializer)
                and obj.__module__ == module_name
                and not issubclass(obj, serializers.ListSerializer)
            ):
                found[f"{module_name}.{name}"] = obj
    return list(found.values())


def plausible_values(field: serializers.Field) -> list[Any]:
    """Values this field may accept, to mix with the hostile ones."""
    values: list[Any] = []
    if isinstance(field, serializers.ChoiceField):
        values += list(field.choice_strings_to_values)
    if isinstance(field, serializers.CharField):
        values += ["a", "billing", "x" * (field.max_length or 10)]
    if isinstance(field, serializers.FloatField | serializers.IntegerField):
        for bound in (field.min_value, field.max_value):
            if bound is not None:
                values += [bound, float(bound)]
        values += [0, 3, 12.25]
    if isinstance(field, serializers.IntegerField):
        values += ["10", "0010"]
    return values


def random_body(rng: random.Random, serializer: serializers.Serializer) -> Any:
    if rng.random() < 0.03:
        return rng.choice([None, [], "body", 5])
    body: dict[str, Any] = {}
    for name, field in serializer.fields.items():
        if field.read_only or rng.random() < 0.2:
            continue
        plausible = plausible_values(field)
        if plausible and rng.random() < 0.7:
            body[name] = rng.choice(plausible)
        else:
            body[name] = rng.choice(HOSTILE)
    if rng.random() < 0.1:
        body["unknown_field"] = rng.choice(HOSTILE)
    return body


def drf_answer(serializer: serializers.Serializer, body: Any) -> dict | None:
    try:
        return serializer.run_validation(body)
    except serializers.ValidationError:
        return None


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 and 1.0 differ here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


@pytest.mark.parametrize("serializer_class", input_serializers(), ids=lambda c: c.__name__)
def test_compiled_answers_what_drf_answers(serializer_class):
    serializer = shared_serializer(serializer_class)
    compiled = compile_serializer(serializer)
    if compiled is None:
        pytest.skip(f"{serializer_class.__name__} is left to DRF (a nested or renamed source)")
    rng = random.Random(serializer_class.__name__)
    refused_by_drf = 0
    for _ in range(BODIES_PER_SERIALIZER):
        body = random_body(rng, serializer)
        expected = drf_answer(serializer, body)
        answer = compiled(body)
        if expected is None:
            refused_by_drf += 1
            assert answer is None, (body, answer)
        else:
            # Whatever DRF accepts, the compiled path accepts too (it is not a slow no-op).
            assert answer is not None, (body, expected)
            assert same(answer, expected), (body, answer, expected)
    assert refused_by_drf > 0  # the hostile values reached the comparison


def test_an_outcome_event_body_is_accepted_by_the_compiled_path():
    from outcomes.serializers import OutcomeEventInputSerializer

    compiled = compile_serializer(shared_serializer(OutcomeEventInputSerializer))
    assert compiled is not None
    body = {
        "domain": "billing",
        "event_type": "invocation",
        "metric_type": "latency_ms",
        "value": 12,
        "occurred_at": "2026-11-30T10:00:00+01:00",
        "metadata": {"failure_class": "timeout"},
    }
    answer = compiled(body)
    assert answer == shared_serializer(OutcomeEventInputSerializer).run_validation(body)
    assert type(answer["value"]) is float and answer["value"] == 12.0
    assert answer["occurred_at"].isoformat() == "2026-11-30T09:00:00+00:00"
    assert compiled({**body, "value": 1e999}) is None
    assert compiled({**body, "domain": "\ud800"}) is None
    assert compiled({**body, "metric_type": "speed"}) is None


def test_refused_bodies_still_get_drfs_error_body(make_client):
    client = make_client(["outcomes:write"], tenant="t1")
    response = client.post(
        "/v1/outcomes/events",
        {"domain": "", "event_type": 5, "metric_type": "speed", "value": "1"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == {
        "domain": ["This field may not be blank."],
        "event_type": ["Must be a string."],
        "metric_type": [
            "Must be one of: success_rate, quality_score, latency_ms, cost_usd, failure_class."
        ],
        "value": ["A valid number is required."],
    }
