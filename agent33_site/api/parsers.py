"""The JSON parser every view uses: DRF's, refusing bodies no app could store safely.

One check for every app, before any serializer runs: deep nesting (Python's json module
recurses per level, so 50,000 `[` would raise RecursionError), lone surrogates in keys or
values, and numbers without a finite value (`1e999`, `10**400`, NaN, Infinity) are a 400.
"""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from agent33_core.jsonsafety import json_problem


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nesting too deep.") from exc
        problem = json_problem(data)
        if problem is not None:
            raise ParseError(f"JSON parse error - {problem}")
        return data
