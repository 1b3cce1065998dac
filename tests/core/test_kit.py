"""The shared kit alone: strict fields, the JSON safety walk, transitions, tenancy, registry."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from agent33_core.errors import InvalidTransition
from agent33_core.fields import (
    FiniteFloatField,
    JSONObjectField,
    QueryIntegerField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    UTCDateTimeField,
)
from agent33_core.jsonsafety import json_problem
from agent33_core.lifecycle import transition
from agent33_core.registry import ServiceRegistry
from agent33_core.tenancy import reading_tenant, writing_tenant


def errors_of(field: serializers.Field, value) -> list[str]:
    with pytest.raises(serializers.ValidationError) as caught:
        field.run_validation(value)
    return [str(message) for message in caught.value.detail]


@pytest.mark.parametrize("value", [0, 1.5, True, None, ["x"], {"x": 1}])
def test_strict_char_field_refuses_anything_but_a_string(value):
    field = StrictCharField(allow_null=False)
    assert errors_of(field, value) in (["Must be a string."], ["This field may not be null."])


@pytest.mark.parametrize("text", ["  padded  ", "a\x00b", "\u202eevil", "😀"])
def test_strict_char_field_keeps_text_exactly_as_sent(text):
    assert StrictCharField().run_validation(text) == text


def test_strict_char_field_refuses_a_lone_surrogate():
    assert errors_of(StrictCharField(), "bad \udcff") == [
        "Must be valid Unicode text (no lone surrogates)."
    ]


def test_choice_error_names_the_allowed_values_and_never_echoes_input():
    field = StrictChoiceField(choices=["running", "completed"])
    assert errors_of(field, "\ud800") == ["Must be one of: running, completed."]
    assert errors_of(field, 1) == ["Must be one of: running, completed."]
    assert field.run_validation("completed") == "completed"


@pytest.mark.parametrize("value", ["", " 5", "5 ", "\u0665", "5.0", "+", 5.0, True, "1e3"])
def test_query_integer_refuses_what_is_not_plainly_an_integer(value):
    assert errors_of(QueryIntegerField(), value) == ["A valid integer is required."]


@pytest.mark.parametrize(("value", "expected"), [("42", 42), ("-7", -7), (3, 3)])
def test_query_integer_takes_ascii_digits_and_json_integers(value, expected):
    assert QueryIntegerField().run_validation(value) == expected


@pytest.mark.parametrize("value", ["5", 5.0, True, None])
def test_body_integer_takes_only_a_json_integer_so_it_comes_back_as_sent(value):
    field = StrictIntegerField(allow_null=False)
    assert errors_of(field, value) in (
        ["A valid integer is required."],
        ["This field may not be null."],
    )
    assert field.run_validation(60) == 60


@pytest.mark.parametrize("value", ["true", 1, 0, "yes", None])
def test_boolean_field_takes_only_json_booleans(value):
    field = StrictBooleanField(allow_null=False)
    assert errors_of(field, value) in (
        ["Must be a JSON boolean (true or false)."],
        ["This field may not be null."],
    )
    assert field.run_validation(False) is False


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 10**400])
def test_float_field_refuses_numbers_without_a_finite_value(value):
    assert errors_of(FiniteFloatField(), value) == ["Must be a finite number."]


def test_float_field_refuses_strings_and_booleans():
    assert errors_of(FiniteFloatField(), "1.5") == ["A valid number is required."]
    assert errors_of(FiniteFloatField(), False) == ["A valid number is required."]


def test_json_object_field_bounds_bytes_and_names_the_sizes(settings):
    settings.AGENT33_MAX_JSON_FIELD_BYTES = 64
    field = JSONObjectField()
    assert field.run_validation({"k": "v" * 40}) == {"k": "v" * 40}
    assert errors_of(field, {"k": "v" * 80}) == ["Must be at most 64 bytes as JSON (got 88)."]


def test_json_object_field_refuses_unsafe_content_at_depth():
    field = JSONObjectField()
    assert errors_of(field, {"a": [{"b": "\ud800"}]}) == [
        "Strings must be valid Unicode (no lone surrogates)."
    ]
    assert errors_of(field, {"a": {"\udc00": 1}}) == ["Object keys must be valid Unicode strings."]
    assert errors_of(field, {"a": [float("inf")]}) == [
        "Numbers must be finite (no NaN, Infinity or out-of-range values)."
    ]
    assert errors_of(field, ["not", "an", "object"]) == ["Must be a JSON object."]


def test_json_problem_walks_deep_documents_without_recursion():
    deep: dict = {}
    node = deep
    for _ in range(100_000):
        node["d"] = {}
        node = node["d"]
    assert json_problem(deep, max_depth=64) == "JSON may nest at most 64 levels."
    assert json_problem({"ok": [1, 2.5, "text", None, True]}) is None


def test_datetime_field_reads_naive_times_as_utc_and_refuses_numbers():
    parsed = UTCDateTimeField().run_validation("2026-01-02T03:04:05")
    assert parsed.isoformat() == "2026-01-02T03:04:05+00:00"
    shifted = UTCDateTimeField().run_validation("2026-01-02T05:04:05+02:00")
    assert shifted.isoformat() == "2026-01-02T03:04:05+00:00"
    assert errors_of(UTCDateTimeField(), 1700000000)[0].startswith("Datetime has wrong format.")


def test_transition_follows_the_map_and_names_the_state_when_refused():
    lifecycle = {"a": frozenset({"b"}), "b": frozenset()}
    assert transition(lifecycle, noun="widget", current="a", target="b") == "b"
    with pytest.raises(InvalidTransition, match=r"Cannot move widget from 'b' to 'a'\."):
        transition(lifecycle, noun="widget", current="b", target="a")


def test_tenancy_rule_holds_a_tenant_to_itself_and_lets_an_operator_narrow():
    assert reading_tenant("acme", "globex") == "acme"
    assert reading_tenant("", "globex") == "globex"
    assert reading_tenant("", None) is None
    assert writing_tenant("acme") == "acme"
    assert writing_tenant("") == ""


def test_registry_builds_lazily_and_resets_everything_at_once():
    registry = ServiceRegistry()
    built: list[int] = []
    handle = registry.register("counter", lambda: built.append(1) or len(built))
    assert built == []
    assert handle.get() == 1
    assert handle.get() == 1
    registry.reset_all()
    assert handle.get() == 2
    with pytest.raises(ValueError, match="already registered"):
        registry.register("counter", lambda: 0)
