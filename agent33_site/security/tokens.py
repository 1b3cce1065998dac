"""Issuing and reading the HS256 bearer tokens (contract §2)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import jwt
from django.conf import settings

from agent33_core.jsonsafety import is_valid_text

from .principal import Principal

ALGORITHM = "HS256"

# Verifying a token takes PyJWT ~0.1 ms, and an integration sends the same token with every
# request until it expires. A verified token's principal is remembered by the token's exact
# text and the secret that verified it, and reused only before its `exp`; only tokens that
# verified are remembered, at most this many (the oldest forgotten first).
VERIFIED_TOKENS_KEPT = 4096
_verified: dict[tuple[str, str], tuple[Principal, float]] = {}
_verified_lock = threading.Lock()


class InvalidToken(Exception):
    """The token cannot be trusted: malformed, expired, wrongly signed or unsigned."""


def issue_token(
    *, sub: str, scopes: Iterable[str], tenant_id: str = "", ttl_seconds: int = 3600
) -> str:
    scopes = list(scopes)
    if not all(is_valid_text(text) for text in (sub, tenant_id, *scopes)):
        # decode_token would refuse it: never sign a token that cannot authenticate.
        raise ValueError("Token claims must be valid Unicode text (no lone surrogates).")
    now = int(time.time())
    claims = {"sub": sub, "scopes": scopes, "iat": now, "exp": now + ttl_seconds}
    if tenant_id:
        claims["tenant_id"] = tenant_id
    return jwt.encode(claims, settings.AGENT33_JWT_SECRET, algorithm=ALGORITHM)


def decode_token(token: str) -> Principal:
    """Verify signature (HS256 only, so `alg: none` is refused) and `exp`; shape the claims."""
    secret = settings.AGENT33_JWT_SECRET
    remembered = _verified.get((token, secret))
    if remembered is not None and time.time() < remembered[1]:
        return remembered[0]
    principal, expires_at = _verify(token, secret)
    with _verified_lock:
        if len(_verified) >= VERIFIED_TOKENS_KEPT:
            del _verified[next(iter(_verified))]
        _verified[(token, secret)] = (principal, expires_at)
    return principal


def _verify(token: str, secret: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("Token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("Invalid token.") from exc
    sub, scopes, tenant_id = claims.get("sub"), claims.get("scopes", []), claims.get("tenant_id")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("Invalid token: `sub` must be a non-empty string.")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise InvalidToken("Invalid token: `scopes` must be a list of strings.")
    if tenant_id is not None and not isinstance(tenant_id, str):
        raise InvalidToken("Invalid token: `tenant_id` must be a string.")
    # A lone surrogate (JSON "\udcff") cannot be rendered or stored: refuse it here, once.
    if not all(is_valid_text(text) for text in (sub, tenant_id or "", *scopes)):
        raise InvalidToken("Invalid token: claims must be valid Unicode text.")
    principal = Principal(sub=sub, scopes=frozenset(scopes), tenant_id=tenant_id or "")
    return principal, float(claims["exp"])
