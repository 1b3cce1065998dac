"""Fixtures for the API-as-a-product tests: the schema the code generates, and a clean slate."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from agent33_core.registry import services

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMITTED_SCHEMA = REPO_ROOT / "schema.yml"


def reset_all_services() -> None:
    """Every app's services, fresh (the kit's registry knows them all)."""
    services.reset_all()


@pytest.fixture(scope="session")
def generated_schema_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """schema.yml exactly as `make schema` writes it from the current code."""
    target = tmp_path_factory.mktemp("schema") / "schema.yml"
    call_command("spectacular", "--file", str(target))
    return target.read_text()


@pytest.fixture(scope="session")
def openapi(generated_schema_text: str) -> dict:
    return yaml.safe_load(generated_schema_text)
