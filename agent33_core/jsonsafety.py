"""What may be stored: valid Unicode text and finite numbers, checked without recursion.

A lone surrogate cannot be encoded as UTF-8 and a non-finite float cannot be written as
JSON, so either one, once stored, would break every later read that renders it.
"""

from __future__ import annotations

import math
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
# In JSON text, what can parse to an out-of-range number: an exponent of three digits or
# more, or a run of 200 digits (199 digits times 10**99 is still below 1.8e308).
_LARGE_NUMBER = re.compile(r"[eE][-+]?[0-9]{3}|[0-9]{200}")
# Past this magnitude an integer has no float value, so no finite number can stand for it.
FLOAT_MAX_INT = int(1.7976931348623157e308)


def is_valid_text(text: str) -> bool:
    """True when `text` encodes as UTF-8 (no lone surrogate)."""
    return _SURROGATE.search(text) is None


def printable(text: str) -> str:
    """`text` with any lone surrogate replaced by U+FFFD, so a message quoting it can always
    be encoded (an error that echoed undecodable input would turn a 4xx into a 500)."""
    return _SURROGATE.sub("\ufffd", text)


def json_problem(value: Any, *, max_depth: int = 64) -> str | None:
    """Why `value` (parsed JSON) may not be stored, or None when it may.

    Walks iteratively, so neither a deep document nor a wide one can exhaust the stack.
    """
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if not is_valid_text(item):
                return "Strings must be valid Unicode (no lone surrogates)."
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "Numbers must be finite (no NaN, Infinity or out-of-range values)."
        elif isinstance(item, int):
            if abs(item) > FLOAT_MAX_INT:
                return "Numbers must be finite (no NaN, Infinity or out-of-range values)."
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                return f"JSON may nest at most {max_depth} levels."
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str) or not is_valid_text(key):
                        return "Object keys must be valid Unicode strings."
                    pending.append((child, depth + 1))
            else:
                pending.extend((child, depth + 1) for child in item)
    return None


def text_may_hold_problem(text: str, *, max_depth: int = 64) -> bool:
    """False when the JSON document `text` cannot parse to anything `json_problem` refuses,
    so a parser may skip the walk; True means only "walk it".

    Text decoded from UTF-8 holds no lone surrogate (UTF-8 cannot carry one; UTF-7 can, so
    ask only of UTF-8 text), so one can only come from a `\\u` escape; an object or list
    nested past `max_depth` needs more than `max_depth` brackets; a number out of range
    needs a long exponent or a long run of digits. Conservative: brackets, digits and
    escapes inside strings count as well.
    """
    return (
        "\\u" in text
        or text.count("[") + text.count("{") > max_depth
        or _LARGE_NUMBER.search(text) is not None
    )
