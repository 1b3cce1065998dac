"""The strict fields check their bounds inline (issue 15) with DRF's own messages and codes,
and a validator of the field's own beyond its bounds still runs."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from agent33_core.fields import FiniteFloatField, StrictCharField, StrictIntegerField


class Body(serializers.Serializer):
    name = StrictCharField(min_length=2, max_length=5)
    count = StrictIntegerField(min_value=1, max_value=10)
    ratio = FiniteFloatField(min_value=-1.5, max_value=1.5)


def _errors(data):
    serializer = Body(data=data)
    assert not serializer.is_valid()
    return {name: [(str(e), e.code) for e in errors] for name, errors in serializer.errors.items()}


def test_values_inside_the_bounds_pass_unchanged():
    serializer = Body(data={"name": "abcde", "count": 10, "ratio": -1.5})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {"name": "abcde", "count": 10, "ratio": -1.5}


@pytest.mark.parametrize(
    ("data", "field", "message", "code"),
    [
        (
            {"name": "abcdef"},
            "name",
            "Ensure this field has no more than 5 characters.",
            "max_length",
        ),
        ({"name": "a"}, "name", "Ensure this field has at least 2 characters.", "min_length"),
        ({"count": 11}, "count", "Ensure this value is less than or equal to 10.", "max_value"),
        ({"count": 0}, "count", "Ensure this value is greater than or equal to 1.", "min_value"),
        ({"ratio": 1.6}, "ratio", "Ensure this value is less than or equal to 1.5.", "max_value"),
        (
            {"ratio": -2},
            "ratio",
            "Ensure this value is greater than or equal to -1.5.",
            "min_value",
        ),
    ],
)
def test_a_value_out_of_bounds_gets_drfs_message_and_code(data, field, message, code):
    valid = {"name": "abc", "count": 5, "ratio": 0.5}
    assert _errors({**valid, **data}) == {field: [(message, code)]}


def test_a_validator_of_the_fields_own_still_runs():
    def no_x(value):
        if "x" in value:
            raise serializers.ValidationError("No x.", code="no_x")

    class Named(serializers.Serializer):
        name = StrictCharField(max_length=5, validators=[no_x])

    too_long = Named(data={"name": "abcdefg"})
    assert not too_long.is_valid()
    assert [e.code for e in too_long.errors["name"]] == ["max_length"]
    with_x = Named(data={"name": "axe"})
    assert not with_x.is_valid()
    assert [(str(e), e.code) for e in with_x.errors["name"]] == [("No x.", "no_x")]
    assert Named(data={"name": "abc"}).is_valid()
