"""A sixth kind of process is one service plus one registration: the hub then lists it,
accepts its include key and statuses, shows its controls and applies them, from what the
source declares (`statuses`, `live_statuses`, `controls`) and nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel

from agent33_core.registry import services
from operations.registry import register_source, registry
from operations.sources.base import LifecycleService, ServiceBackedSource
from tests.operations.helpers import control, hub


class Chore(BaseModel):
    id: str
    tenant_id: str
    name: str
    status: str
    started_at: datetime
    created_at: datetime
    updated_at: datetime


class ChoresService(LifecycleService[Chore]):
    noun = "chore"
    id_prefix = "chore"
    process_type = "chore"
    name_field = "name"
    record_model = Chore
    initial_status = "queued"
    lifecycle = {
        "queued": frozenset({"done", "dropped"}),
        "done": frozenset(),
        "dropped": frozenset(),
    }
    live_statuses = frozenset({"queued"})
    controls = {"cancel": {"queued": "dropped"}}

    def entry_metadata(self, record: Chore) -> dict[str, Any]:
        return {}


chores_service = services.register("tests.operations.chores", ChoresService.from_settings)


@pytest.fixture
def chores(monkeypatch):
    """Register the chore source for one test (the registry's indexes restored after)."""
    for index in ("_by_type", "_by_include", "_by_prefix"):
        monkeypatch.setattr(registry, index, dict(getattr(registry, index)))
    register_source(
        ServiceBackedSource(
            service_class=ChoresService, include_key="chores", handle=chores_service
        )
    )
    return chores_service.get()


def test_an_unregistered_status_and_include_key_are_400(t1):
    assert t1.get("/v1/operations/hub?status=queued").status_code == 400
    assert t1.get("/v1/operations/hub?include=chores").status_code == 400


def test_a_registered_sixth_source_appears_in_the_hub_with_its_statuses(t1, t2, chores):
    mine = chores.create(tenant_id="t1", fields={"name": "sweep"})
    chores.create(tenant_id="t2", fields={"name": "not yours"})
    body = hub(t1, "?include=chores")
    assert body["counts"] == {"chore": 1}
    [entry] = body["processes"]
    assert (entry["id"], entry["type"], entry["status"], entry["name"]) == (
        mine.id,
        "chore",
        "queued",
        "sweep",
    )
    assert entry["metadata"] == {"tenant_id": "t1"}
    assert hub(t1, "?status=queued")["counts"]["chore"] == 1
    [message] = t1.get("/v1/operations/hub?status=bogus").json()["errors"]["status"]
    assert "queued" in message and "dropped" in message


def test_a_sixth_sources_controls_come_from_its_declared_map(t1, chores):
    chore = chores.create(tenant_id="t1", fields={"name": "sweep"})
    detail = t1.get(f"/v1/operations/processes/{chore.id}").json()
    assert detail["controls"] == ["cancel"] and detail["control_history"] == []
    response = control(t1, chore.id, "pause")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A process of type 'chore' does not support 'pause'.",
        "code": "unsupported_action",
    }
    response = control(t1, chore.id, "cancel", reason="not needed")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "dropped" and body["controls"] == []
    assert [(h["action"], h["from_status"], h["to_status"]) for h in body["control_history"]] == [
        ("cancel", "queued", "dropped")
    ]
    response = control(t1, chore.id, "cancel")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Cannot cancel a chore that is 'dropped'.",
        "code": "invalid_transition",
    }
