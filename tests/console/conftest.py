"""Console fixtures: every service fresh per test, the demo seeded, and staff users.

A superuser is an operator with `admin`; any other active staff user is read-only.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from agent33_core.registry import services
from multimodal.demo import seed_demo as seed_multimodal
from operations.demo import seed_demo as seed_operations
from outcomes.demo import seed_demo as seed_outcomes

PASSWORD = "console-test-password-1"


def reset_all_services() -> None:
    services.reset_all()


def seed_all_demo_data() -> None:
    """What `AGENT33_SEED_DEMO=1` does at start-up, app by app."""
    seed_operations()
    seed_multimodal()
    seed_outcomes()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Test users need no slow hash (the default costs most of a second on a small CI box)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_services():
    reset_all_services()
    yield
    reset_all_services()


@pytest.fixture
def demo():
    seed_all_demo_data()


def make_user(username: str, *, staff: bool, superuser: bool = False, active: bool = True):
    user_model = get_user_model()
    return user_model.objects.create_user(
        username=username,
        password=PASSWORD,
        is_staff=staff,
        is_superuser=superuser,
        is_active=active,
    )


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator(db) -> Client:
    """A superuser: operator with `admin`, controls enabled."""
    return logged_in(make_user("root", staff=True, superuser=True))


@pytest.fixture
def viewer(db) -> Client:
    """Active staff without superuser: a read-only operator."""
    return logged_in(make_user("viewer", staff=True))


def pytest_terminal_summary(terminalreporter) -> None:
    """Make skipped browser tests impossible to miss at the end of `make test`."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any("BROWSER TESTS SKIPPED" in str(report.longrepr) for report in skipped):
        terminalreporter.write_sep(
            "!",
            "BROWSER TESTS SKIPPED: install Debian chromium (`make browsers`) to run them",
            red=True,
            bold=True,
        )
