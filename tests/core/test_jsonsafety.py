"""The parser's shortcut: `text_may_hold_problem` never lets a refused document through.

The JSON parser skips `json_problem`'s walk when the UTF-8 text says it cannot hold a
problem. Generated documents (numbers at and past the float range written every way JSON
allows, escapes, nesting around the limit, plain data) are parsed and walked; whenever the
walk refuses a document, the text check must have asked for the walk.
"""

from __future__ import annotations

import json
import random

import pytest
from rest_framework.utils.json import strict_constant

from agent33_core.jsonsafety import json_problem, text_may_hold_problem

DECODER = json.JSONDecoder(parse_constant=strict_constant)
MAX_DEPTH = 64


def number_text(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(rng.choice([1, 3, 150, 199, 200])))
    digits = digits.lstrip("0") or "0"
    if rng.random() < 0.5:
        digits = rng.choice("123456789") + "9" * rng.randint(150, 420)
    text = ("-" if rng.random() < 0.3 else "") + digits
    if rng.random() < 0.4:
        text += "." + "9" * rng.randint(1, 30)
    if rng.random() < 0.6:
        exponent = str(rng.choice([1, 9, 99, 100, 290, 308, 309, 400, 999]))
        text += rng.choice("eE") + rng.choice(["", "+", "-"]) + exponent.zfill(rng.randint(1, 4))
    return text


def string_text(rng: random.Random) -> str:
    pieces = [
        "plain",
        "caf\u00e9",
        "\U0001f600",
        "\\n",
        "\\u0041",
        "\\ud800",
        "\\udfff",
        "\\ud83d\\ude00",
        "e999",
        "[{",
        "9" * 250,
    ]
    return '"' + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))) + '"'


def document_text(rng: random.Random, depth: int = 0) -> str:
    kind = rng.random()
    if depth > 70 or kind < 0.35:
        return rng.choice([number_text, string_text])(rng)
    if kind < 0.45:
        return rng.choice(["true", "false", "null"])
    children = [document_text(rng, depth + 1) for _ in range(rng.randint(0, 2))]
    if rng.random() < 0.5:
        return "[" + ", ".join(children) + "]"
    return "{" + ", ".join(f"{string_text(rng)}: {child}" for child in children) + "}"


def nested(depth: int) -> str:
    return '{"d": ' * depth + "1" + "}" * depth


def test_a_refused_document_always_asks_for_the_walk():
    rng = random.Random(15)
    refused = skipped = 0
    texts = [document_text(rng) for _ in range(20_000)]
    texts += [nested(depth) for depth in range(MAX_DEPTH - 2, MAX_DEPTH + 3)]
    texts += ["[" * depth + "]" * depth for depth in range(MAX_DEPTH - 2, MAX_DEPTH + 3)]
    for text in texts:
        try:
            data = DECODER.decode(text)
        except (ValueError, RecursionError):
            continue
        problem = json_problem(data, max_depth=MAX_DEPTH)
        asks = text_may_hold_problem(text, max_depth=MAX_DEPTH)
        if problem is not None:
            refused += 1
            assert asks, (text[:200], problem)
        elif not asks:
            skipped += 1
    # The battery reaches both sides: refused documents, and clean ones the walk can skip.
    assert refused > 1_000
    assert skipped > 1_000


@pytest.mark.parametrize(
    "text",
    [
        '{"domain": "billing", "event_type": "run", "metric_type": "latency_ms", "value": 123.4}',
        '{"value": ' + "9" * 199 + "e99}",
        '{"value": -1.5E+99, "nested": ' + nested(MAX_DEPTH - 1) + "}",
    ],
)
def test_plain_documents_skip_the_walk(text):
    assert json_problem(DECODER.decode(text), max_depth=MAX_DEPTH) is None
    assert text_may_hold_problem(text, max_depth=MAX_DEPTH) is False


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a": "\\ud800"}', "Strings must be valid Unicode (no lone surrogates)."),
        ("[1e999]", "Numbers must be finite (no NaN, Infinity or out-of-range values)."),
        (
            "[" + "18" + "0" * 307 + "]",
            "Numbers must be finite (no NaN, Infinity or out-of-range values).",
        ),
        (nested(MAX_DEPTH + 1), f"JSON may nest at most {MAX_DEPTH} levels."),
    ],
)
def test_each_kind_of_problem_asks_for_the_walk(text, problem):
    assert json_problem(DECODER.decode(text), max_depth=MAX_DEPTH) == problem
    assert text_may_hold_problem(text, max_depth=MAX_DEPTH) is True
