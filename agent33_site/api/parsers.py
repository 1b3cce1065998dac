"""The JSON parser every view uses: DRF's, refusing bodies no app could store safely.

One check for every app, before any serializer runs: deep nesting (Python's json module
recurses per level, so 50,000 `[` would raise RecursionError), lone surrogates in keys or
values, and numbers without a finite value (`1e999`, `10**400`, NaN, Infinity) are a 400.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from agent33_core.jsonsafety import json_problem, text_may_hold_problem

# One decoder for every request (`json.load` with options builds a new one per call). It
# refuses NaN and Infinity as DRF's strict JSON does.
_DECODER = json.JSONDecoder(parse_constant=strict_constant)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return self.parse_body(stream.read(), parser_context)

    def parse_body(self, body: bytes, parser_context: dict[str, Any] | None) -> Any:
        """The document in `body`; `agent33_core.views.KitRequest` calls this directly."""
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = body.decode(encoding)
            data = _DECODER.decode(text)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nesting too deep.") from exc
        except ValueError as exc:  # malformed JSON, or bytes that are not `encoding`
            raise ParseError(f"JSON parse error - {exc}") from exc
        # Most bodies are plain UTF-8 that cannot hold a problem: the text says so in C.
        if _is_utf8(encoding) and not text_may_hold_problem(text):
            return data
        problem = json_problem(data)
        if problem is not None:
            raise ParseError(f"JSON parse error - {problem}")
        return data


def _is_utf8(encoding: str) -> bool:
    return encoding == "utf-8" or codecs.lookup(encoding).name == "utf-8"
