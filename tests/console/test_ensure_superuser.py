"""`manage.py ensure_superuser`: a superuser `admin` who can log in right away."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def run(**options) -> str:
    out = io.StringIO()
    call_command("ensure_superuser", stdout=out, **options)
    return out.getvalue()


def test_creates_admin_with_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "from-the-env-123")
    output = run()
    assert output == "Created superuser 'admin' (password from DJANGO_SUPERUSER_PASSWORD).\n"
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.is_active
    assert user.check_password("from-the-env-123")


def test_generates_and_prints_a_password_when_none_is_given(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    output = run()
    match = re.search(r"Admin login: username 'admin', password '([^']+)'", output)
    assert match is not None
    assert len(match.group(1)) >= 12
    assert get_user_model().objects.get(username="admin").check_password(match.group(1))


def test_second_run_updates_the_password_of_the_same_user(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "first-password-1")
    run()
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "second-password-2")
    output = run()
    assert output.startswith("Updated superuser 'admin'")
    users = get_user_model().objects.filter(username="admin")
    assert users.count() == 1
    assert users.get().check_password("second-password-2")


def test_the_created_admin_logs_in_to_the_admin(monkeypatch, client):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "log-me-in-456")
    run()
    response = client.post(
        "/admin/login/", {"username": "admin", "password": "log-me-in-456", "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
