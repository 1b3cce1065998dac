"""What may be stored: valid Unicode text and finite numbers, checked without recursion.

A lone surrogate cannot be encoded as UTF-8 and a non-finite float cannot be written as
JSON, so either one, once stored, would break every later read that renders it.
"""

from __future__ import annotations

import math
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
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
