"""Time and ids: one clock (UTC, aware) and one id shape (`<prefix>-<16 hex>`) for every app."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """An opaque id whose prefix lets the operations hub route it in O(1) (contract §1)."""
    return f"{prefix}-{secrets.token_hex(8)}"
