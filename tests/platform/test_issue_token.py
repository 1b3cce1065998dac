"""`manage.py issue_token`: one line, a token that authenticates; bad input refused clearly."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from agent33_site.security.tokens import decode_token

pytestmark = pytest.mark.django_db


def _issue(*args: str) -> str:
    out = io.StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue()


def test_tenant_token_is_one_line_and_authenticates():
    output = _issue("--sub", "svc", "--scopes", "outcomes:read,outcomes:write", "--tenant", "t9")
    assert output.count("\n") == 1
    token = output.strip()
    principal = decode_token(token)
    assert principal.tenant_id == "t9"
    assert principal.scopes == {"outcomes:read", "outcomes:write"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/v1/whoami")
    assert response.status_code == 200
    assert response.json()["tenant_id"] == "t9"


def test_operator_token_with_wildcard():
    principal = decode_token(_issue("--sub", "ops", "--scopes", "outcomes:*", "--operator").strip())
    assert principal.is_operator
    assert principal.scopes == {"outcomes:*"}


def test_ttl_sets_expiry():
    import jwt

    token = _issue("--sub", "s", "--scopes", "admin", "--operator", "--ttl", "120").strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120


def test_unknown_scope_is_refused():
    with pytest.raises(CommandError, match=r"Unknown scope\(s\): outcomes:delete, billing:\*"):
        _issue("--sub", "s", "--scopes", "outcomes:delete,billing:*", "--operator")


def test_tenant_or_operator_is_required():
    with pytest.raises(CommandError, match="one of the arguments --tenant --operator is required"):
        _issue("--sub", "s", "--scopes", "admin")


def test_tenant_and_operator_together_are_refused():
    with pytest.raises(CommandError, match="not allowed with argument"):
        _issue("--sub", "s", "--scopes", "admin", "--tenant", "t", "--operator")


def test_cli_exit_status_is_non_zero_with_a_clear_message():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "issue_token", "--sub", "s", "--scopes", "nope:read"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "--tenant --operator is required" in result.stderr


@pytest.mark.parametrize(
    ("option", "args"),
    [
        ("--sub", ["--sub", "bad\udcff", "--scopes", "admin", "--operator"]),
        ("--tenant", ["--sub", "s", "--scopes", "admin", "--tenant", "t\udcff"]),
        ("--scopes", ["--sub", "s", "--scopes", "outcomes:read,\udcff", "--operator"]),
    ],
)
def test_undecodable_text_is_refused_without_echoing_it(option, args):
    with pytest.raises(CommandError) as refused:
        _issue(*args)
    message = str(refused.value)
    assert message.startswith(f"{option} must be valid UTF-8 text")
    assert "\udcff" not in message


def test_cli_refuses_a_raw_undecodable_byte_in_argv():
    import subprocess
    import sys

    # Python hands the undecodable byte to the command as the lone surrogate "\udcff".
    argv = [sys.executable, "manage.py", "issue_token", "--operator", "--scopes", "admin"]
    result = subprocess.run(
        [*argv, "--sub", b"bad\xff"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        check=False,
    )
    assert result.returncode != 0
    assert b"--sub must be valid UTF-8 text" in result.stderr
    assert b"\xff" not in result.stderr and b"Traceback" not in result.stderr
    assert result.stdout == b""
