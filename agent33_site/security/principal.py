"""The authenticated caller, whichever way it authenticated (JWT or staff session)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: `tenant_id` is "" for an operator, who sees every tenant."""

    sub: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    tenant_id: str = ""

    @property
    def is_operator(self) -> bool:
        return self.tenant_id == ""

    # DRF and Django treat `request.user` as a user object; these make a principal one.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def __str__(self) -> str:
        return self.sub
