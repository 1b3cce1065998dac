"""Fixtures for the API-as-a-product tests: the schema the code generates, and a clean slate."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMITTED_SCHEMA = REPO_ROOT / "schema.yml"

# Each app keeps its state in an in-memory singleton; `reset_<app>_service()` empties it.
SERVICE_RESETS = (
    ("outcomes.services", "reset_outcomes_service"),
    ("multimodal.services", "reset_multimodal_service"),
    ("operations.services", "reset_operations_service"),
    ("operations.sources.traces.services", "reset_traces_service"),
    ("operations.sources.budgets.services", "reset_budgets_service"),
    ("operations.sources.intakes.services", "reset_intakes_service"),
    ("operations.sources.workflows.services", "reset_workflow_runs_service"),
)


def reset_all_services() -> None:
    for module_name, function_name in SERVICE_RESETS:
        module = importlib.import_module(module_name)
        getattr(module, function_name)()


@pytest.fixture(scope="session")
def generated_schema_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """schema.yml exactly as `make schema` writes it from the current code."""
    target = tmp_path_factory.mktemp("schema") / "schema.yml"
    call_command("spectacular", "--file", str(target))
    return target.read_text()


@pytest.fixture(scope="session")
def openapi(generated_schema_text: str) -> dict:
    return yaml.safe_load(generated_schema_text)
