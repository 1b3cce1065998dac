"""Lifecycle maps are data (`{state: frozenset(next states)}`); one function judges a move."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from .errors import InvalidTransition

S = TypeVar("S", bound=str)

LifecycleMap = Mapping[S, frozenset[S]]


def transition(
    lifecycle: Mapping[S, frozenset[S]],
    *,
    noun: str,
    current: S,
    target: S,
    refusal: str | None = None,
) -> S:
    """`target` when the map allows `current -> target`, else a 409 naming the state.

    `refusal` replaces the default message (e.g. "Cannot execute a request that is ...").
    """
    if target not in lifecycle.get(current, frozenset()):
        raise InvalidTransition(refusal or f"Cannot move {noun} from '{current}' to '{target}'.")
    return target
