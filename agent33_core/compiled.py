"""A serializer's accepted inputs, checked without DRF's per-field machinery.

DRF validates a body field by field through `get_value`, `run_validation`,
`validate_empty_values`, a `validate_<name>` lookup and a validator loop: about half the
time a small body takes. `compile_serializer` turns a bound serializer into one function
that checks the kit's strict text, choice and finite-number fields inline and calls DRF's
own `run_validation` for every other field. It answers the validated dict DRF would
answer, or `None` whenever anything is off: the caller then runs the serializer itself,
so every refusal still carries DRF's exact error body. Accepting only what the serializer
accepts, with the same values, is held by a differential test (tests/core/test_compiled.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from .fields import FiniteFloatField, StrictCharField, StrictChoiceField, other_validators
from .jsonsafety import FLOAT_MAX_INT, is_valid_text

# A field's check: the validated value, or `_REFUSED` (the serializer must say why).
_REFUSED = object()
Check = Callable[[Any], Any]
CompiledSerializer = Callable[[Any], dict[str, Any] | None]


def _char_check(field: StrictCharField) -> Check | None:
    if field.allow_blank or field.allow_null or other_validators(field):
        return None
    low = field.min_length or 1
    high = field.max_length

    def check(value: Any) -> Any:
        if type(value) is not str or len(value) < low or not is_valid_text(value):
            return _REFUSED
        if high is not None and len(value) > high:
            return _REFUSED
        return value

    return check


def _choice_check(field: StrictChoiceField) -> Check | None:
    if field.allow_null or field.validators:
        return None
    choices = field.choice_strings_to_values

    def check(value: Any) -> Any:
        if type(value) is str and value in choices:
            return choices[value]
        return _REFUSED

    return check


def _float_check(field: FiniteFloatField) -> Check | None:
    if field.allow_null or other_validators(field):
        return None
    low = -math.inf if field.min_value is None else field.min_value
    high = math.inf if field.max_value is None else field.max_value

    def check(value: Any) -> Any:
        kind = type(value)
        if kind is float:
            if not math.isfinite(value):
                return _REFUSED
        elif kind is int:
            if abs(value) > FLOAT_MAX_INT:
                return _REFUSED
            value = float(value)
        else:
            return _REFUSED
        if not low <= value <= high:
            return _REFUSED
        return value

    return check


# Exact types only: a subclass may change what it accepts.
_FAST_CHECKS: dict[type, Callable[[Any], Check | None]] = {
    StrictCharField: _char_check,
    StrictChoiceField: _choice_check,
    FiniteFloatField: _float_check,
}


def _drf_check(field: serializers.Field, validate_method: Callable | None) -> Check:
    """What DRF does for this field when the body has it (the same calls)."""

    def check(value: Any) -> Any:
        try:
            validated = field.run_validation(value)
            if validate_method is not None:
                validated = validate_method(validated)
        except (serializers.ValidationError, DjangoValidationError, SkipField):
            return _REFUSED
        return validated

    return check


def compile_serializer(serializer: serializers.Serializer) -> CompiledSerializer | None:
    """`serializer` (bound, not partial) as one function; None when it cannot be compiled."""
    plan: list[tuple[str, serializers.Field, Check]] = []
    for field in serializer._writable_fields:
        if field.source_attrs != [field.field_name]:
            return None  # a nested or renamed source: leave it to DRF
        validate_method = getattr(serializer, "validate_" + field.field_name, None)
        fast = _FAST_CHECKS.get(type(field))
        check = fast(field) if fast is not None and validate_method is None else None
        plan.append((field.field_name, field, check or _drf_check(field, validate_method)))
    plan_tuple = tuple(plan)
    custom = type(serializer).validate is not serializers.Serializer.validate
    validators = serializer.validators

    def run(data: Any) -> dict[str, Any] | None:
        if type(data) is not dict:
            return None
        validated: dict[str, Any] = {}
        for name, field, check in plan_tuple:
            value = data.get(name, empty)
            if value is empty:
                try:  # absent: DRF's own answer (required -> refused, else the default)
                    validated[name] = field.run_validation(empty)
                except SkipField:
                    pass
                except (serializers.ValidationError, DjangoValidationError):
                    return None
                continue
            value = check(value)
            if value is _REFUSED:
                return None
            validated[name] = value
        if validators or custom:
            try:
                serializer.run_validators(validated)
                validated = serializer.validate(validated)
            except (serializers.ValidationError, DjangoValidationError):
                return None
        return validated

    return run
