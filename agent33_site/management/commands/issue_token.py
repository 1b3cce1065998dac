"""`manage.py issue_token`: print one bearer token for a tenant or an operator (contract §2)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agent33_core.jsonsafety import is_valid_text
from agent33_site.security.scopes import KNOWN_SCOPES, unknown_scopes
from agent33_site.security.tokens import issue_token


def _valid_text(option: str, value: str) -> str:
    """Refuse text that is not valid Unicode (undecodable argv bytes arrive as lone surrogates).

    The message never echoes the value: it cannot be printed.
    """
    if not is_valid_text(value):
        raise CommandError(
            f"{option} must be valid UTF-8 text: the value given contains undecodable bytes."
        )
    return value


class Command(BaseCommand):
    help = "Print a signed HS256 bearer token (one line) for a tenant or an operator principal."
    # Issuing a token touches neither the database nor static files: it works before a deploy.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sub", required=True, help="Subject: who the token is for.")
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"Comma-separated scopes or wildcards; known: {', '.join(KNOWN_SCOPES)}.",
        )
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--tenant", help="Tenant id: the token sees only this tenant.")
        who.add_argument(
            "--operator", action="store_true", help="Operator token: sees every tenant."
        )
        parser.add_argument("--ttl", type=int, default=3600, help="Lifetime in seconds (3600).")

    def handle(self, *args, **options) -> None:
        sub = _valid_text("--sub", options["sub"]).strip()
        if not sub:
            raise CommandError("--sub must not be empty.")
        raw_scopes = _valid_text("--scopes", options["scopes"])
        scopes = [s.strip() for s in raw_scopes.split(",") if s.strip()]
        if not scopes:
            raise CommandError("--scopes must name at least one scope.")
        unknown = unknown_scopes(scopes)
        if unknown:
            raise CommandError(
                f"Unknown scope(s): {', '.join(unknown)}. Known scopes: {', '.join(KNOWN_SCOPES)}."
            )
        tenant = options["tenant"]
        if tenant is not None:
            tenant = _valid_text("--tenant", tenant)
            if not tenant.strip():
                raise CommandError("--tenant must not be empty; use --operator for an operator.")
        if options["ttl"] < 1:
            raise CommandError("--ttl must be at least 1 second.")
        token = issue_token(
            sub=sub, scopes=scopes, tenant_id=(tenant or "").strip(), ttl_seconds=options["ttl"]
        )
        self.stdout.write(token)
