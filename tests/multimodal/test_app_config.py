"""The app joins the operations hub only when `operations` is installed."""

from __future__ import annotations

from django.apps import apps

import operations.registry
from operations.registry import registry


def test_ready_registers_the_source_when_operations_is_installed():
    assert apps.is_installed("operations")
    assert registry.by_type("multimodal_request") is not None


def test_ready_skips_the_hub_when_operations_is_not_installed(monkeypatch):
    calls = []
    monkeypatch.setattr(apps, "is_installed", lambda name: name != "operations")
    monkeypatch.setattr(operations.registry, "register_source", calls.append)
    apps.get_app_config("multimodal").ready()
    assert calls == []


def test_ready_is_idempotent_for_the_registry():
    before = registry.by_type("multimodal_request")
    apps.get_app_config("multimodal").ready()
    after = registry.by_type("multimodal_request")
    assert type(after) is type(before)
    assert registry.for_process_id("mmreq-0123456789abcdef") is after
