"""Strict DRF fields: what a client sends is what is stored, or a 400 naming the field.

Contract §1: text is a JSON string of valid Unicode kept exactly as sent (no trimming,
no number turned into text); numbers are finite; integers are integers (in a query
string: ASCII digits, never empty); free-form objects are bounded in bytes and depth;
an enum error names the allowed values and never echoes what was sent.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from .jsonsafety import FLOAT_MAX_INT, is_valid_text, json_problem

DEFAULT_MAX_JSON_FIELD_BYTES = 16 * 1024
JSON_FIELD_MAX_DEPTH = 32
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,18}")


def max_json_field_bytes() -> int:
    return int(getattr(settings, "AGENT33_MAX_JSON_FIELD_BYTES", DEFAULT_MAX_JSON_FIELD_BYTES))


def json_size(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON: what a stored free-form object costs."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


# The validators DRF attaches for a field's own bounds; `InlineBoundsMixin` checks these itself.
_BOUND_VALIDATORS = (
    MaxLengthValidator,
    MinLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitSurrogateCharactersValidator,
)


def other_validators(field: serializers.Field) -> list:
    """The field's validators beyond its own bounds (the ones `InlineBoundsMixin` checks
    inline); worked out once per field."""
    others = field.__dict__.get("_other_validators")
    if others is None:
        others = [v for v in field.validators if not isinstance(v, _BOUND_VALIDATORS)]
        field.__dict__["_other_validators"] = others
    return others


class InlineBoundsMixin:
    """Check the field's own bounds (length, value, surrogates) inline, with DRF's messages
    and codes. DRF calls each validator object through a generic loop, about a third of the
    time a small body takes to validate; the objects stay on the field, where the schema
    generator reads the bounds. Any other validator still runs as DRF runs it.
    """

    def run_validators(self, value: Any) -> None:
        if isinstance(value, str):
            size = len(value)
            if self.max_length is not None and size > self.max_length:
                self.fail("max_length", max_length=self.max_length)
            if self.min_length is not None and size < self.min_length:
                self.fail("min_length", min_length=self.min_length)
        elif isinstance(value, int | float):
            if self.max_value is not None and value > self.max_value:
                self.fail("max_value", max_value=self.max_value)
            if self.min_value is not None and value < self.min_value:
                self.fail("min_value", min_value=self.min_value)
        if other_validators(self):
            serializers.Field.run_validators(self, value)


class StrictCharField(InlineBoundsMixin, serializers.CharField):
    """A JSON string of valid Unicode, stored as sent: no trimming, no number coercion.

    NUL is valid JSON text and renders everywhere, so it is accepted like any character
    (the schema's `type: string` promises no less).
    """

    default_error_messages = {
        "invalid": "Must be a string.",
        "invalid_text": "Must be valid Unicode text (no lone surrogates).",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if not is_valid_text(data):
            self.fail("invalid_text")
        return data


class StrictChoiceField(serializers.ChoiceField):
    """One of the declared string values; the error lists them and never echoes input."""

    default_error_messages = {"invalid_choice": "Must be one of: {allowed}."}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and data in self.choice_strings_to_values:
            return self.choice_strings_to_values[data]
        if isinstance(data, str) and data == "" and self.allow_blank:
            return ""
        self.fail("invalid_choice", allowed=", ".join(self.choice_strings_to_values))


class StrictIntegerField(InlineBoundsMixin, serializers.IntegerField):
    """A JSON integer in a body: never 5.0, "5", true; it comes back exactly as sent."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryIntegerField(StrictIntegerField):
    """An integer in a query string: ASCII digits only; "", " 5", "5.0", "+" are refused."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and _INTEGER_TEXT.fullmatch(data):
            data = int(data)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true/false: "true", "yes" or 1 are type errors, not booleans."""

    default_error_messages = {"invalid": "Must be a JSON boolean (true or false)."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class FiniteFloatField(InlineBoundsMixin, serializers.FloatField):
    """A JSON number with a finite float value; strings and booleans are refused."""

    default_error_messages = {"non_finite": "Must be a finite number."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        if isinstance(data, int) and abs(data) > FLOAT_MAX_INT:
            self.fail("non_finite")
        if isinstance(data, float) and not math.isfinite(data):
            self.fail("non_finite")
        return super().to_internal_value(data)


class JSONObjectField(serializers.DictField):
    """A free-form JSON object: valid text, finite numbers, bounded depth and bytes."""

    default_error_messages = {
        "not_a_dict": "Must be a JSON object.",
        "unsafe": "{problem}",
        "too_large": "Must be at most {max_bytes} bytes as JSON (got {size}).",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "Any JSON object, at most AGENT33_MAX_JSON_FIELD_BYTES (16 KiB) serialized.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        problem = json_problem(data, max_depth=JSON_FIELD_MAX_DEPTH)
        if problem is not None:
            self.fail("unsafe", problem=problem)
        limit = max_json_field_bytes()
        size = json_size(data)
        if size > limit:
            self.fail("too_large", max_bytes=limit, size=size)
        return data


class UTCDateTimeField(serializers.DateTimeField):
    """An ISO-8601 string; a naive time is UTC; the value is returned in UTC."""

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO-8601")
        parsed = super().to_internal_value(value)
        try:
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            self.fail("invalid", format="ISO-8601")


class TenantQuerySerializer(serializers.Serializer):
    """`?tenant_id=`: an operator narrows a read to one tenant; ignored for tenants."""

    tenant_id = StrictCharField(
        required=False,
        min_length=1,
        max_length=200,
        help_text="Operators only: narrow the read to one tenant (ignored for tenant principals).",
    )
