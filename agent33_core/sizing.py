"""What a stored value can cost in memory: an honest upper bound, cheap enough per write.

A stored value is counted as the objects that hold it (`sys.getsizeof` of each string,
number, list, dict and model, walked to the leaves) plus, for every string that is not
ASCII, its UTF-8 length: CPython keeps a UTF-8 copy inside a non-ASCII `str` once it has
been encoded through the C API (`pydantic_core.to_json`, which renders every read, does
so), for as long as the string lives. ASCII strings share their data with their UTF-8
form. Each object is counted as the heap block(s) it takes (`block_bytes`): rounding, header,
and for a block beyond pymalloc's 512 bytes the part of a page it may keep resident.

Shared objects (singletons, enum members, interned strings) are counted each time they are
met, so the bound only errs upward. Nothing here imports an app.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any

from pydantic import BaseModel

# Heap blocks: pymalloc serves blocks up to 512 bytes from pools (rounded up to 16); a larger
# block comes from malloc, with a 16-byte header, and may keep the pages it shares with
# freed neighbours resident: counted as half a page more (measured by bench/memory_bench.py).
SMALL_BLOCK_BYTES = 512
OBJECT_SLACK_BYTES = 16
LARGE_BLOCK_SLACK_BYTES = 2048
_ASCII_HEADER = 48  # sys.getsizeof("") - 1 on CPython 3.11/3.12, 64-bit
_UNICODE_HEADER = 72  # a compact non-ASCII str's header
_getsizeof = sys.getsizeof
_NO_COST = (type(None), bool, Enum)
_FIXED = (int, float, datetime, date, time, timedelta, bytes)


def block_bytes(size: int) -> int:
    """What a heap block of `size` bytes can keep resident."""
    if size <= SMALL_BLOCK_BYTES:
        return (size + 15) // 16 * 16 + OBJECT_SLACK_BYTES
    return size + OBJECT_SLACK_BYTES + LARGE_BLOCK_SLACK_BYTES


def text_bytes(text: str) -> int:
    """A string as kept: the object, plus the UTF-8 copy a non-ASCII string keeps once
    rendered. The same before and after rendering (`sys.getsizeof` is not: it grows)."""
    if text.isascii():
        return block_bytes(_ASCII_HEADER + len(text) + 1)
    top = ord(max(text))
    kind = 1 if top < 0x100 else 2 if top < 0x10000 else 4
    utf8 = len(text.encode("utf-8", "surrogatepass"))
    return block_bytes(_UNICODE_HEADER + (len(text) + 1) * kind) + block_bytes(utf8 + 1)


def value_bytes(value: Any) -> int:
    """Upper bound of the memory `value` holds (a model, dict, list, string, number ...)."""
    if isinstance(value, str):  # before Enum: a StrEnum member is a str and costs nothing
        return 0 if isinstance(value, Enum) else text_bytes(value)
    if isinstance(value, _NO_COST):
        return 0
    if isinstance(value, _FIXED):
        return block_bytes(_getsizeof(value))
    if isinstance(value, BaseModel):
        return model_bytes(value)
    if isinstance(value, dict):
        return (
            block_bytes(_getsizeof(value))
            + sum(text_bytes(k) if type(k) is str else value_bytes(k) for k in value)
            + sum(map(value_bytes, value.values()))
        )
    if isinstance(value, list | tuple | set | frozenset):
        return block_bytes(_getsizeof(value)) + sum(map(value_bytes, value))
    return block_bytes(_getsizeof(value))


def model_bytes(model: BaseModel, *, exclude: str | None = None) -> int:
    """A pydantic model as kept: the instance, its `__dict__`, its fields-set, its values
    (without the field named `exclude`, which the caller counts itself)."""
    size = (
        block_bytes(_getsizeof(model))
        + block_bytes(_getsizeof(model.__dict__))
        + block_bytes(_getsizeof(model.__pydantic_fields_set__))
    )
    for name, value in model.__dict__.items():
        if name != exclude:
            size += value_bytes(value)
    return size
