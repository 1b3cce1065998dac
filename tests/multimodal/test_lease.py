"""A claimed request whose worker is gone does not stay `processing` (contract §6).

`claim` is what a worker does before it runs the adapter; here no run follows, as when the
process that claimed the request died. Once the run's timeout and the lease grace have
passed, any read sees the request `failed` with "worker lost", and it can run again.
"""

from __future__ import annotations

import time

import pytest

from multimodal.services import WORKER_LOST, get_multimodal_service

from .conftest import create_tts

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_lease(settings):
    settings.MULTIMODAL_LEASE_GRACE_SECONDS = 0


def _claimed(writer) -> str:
    request_id = create_tts(writer, requested_timeout_seconds=1).json()["id"]
    claimed = get_multimodal_service().claim(tenant_id="tenant-a", request_id=request_id)
    assert claimed.state == "processing"
    return request_id


def test_within_its_lease_a_claimed_request_stays_processing(writer):
    request_id = _claimed(writer)  # 1 s timeout + the default 10 s grace
    response = writer.get(f"/v1/multimodal/requests/{request_id}")
    assert response.status_code == 200
    assert response.json()["state"] == "processing"


def test_after_its_lease_the_request_reads_failed_worker_lost_everywhere(writer, short_lease):
    request_id = _claimed(writer)
    time.sleep(1.1)
    detail = writer.get(f"/v1/multimodal/requests/{request_id}")
    assert detail.status_code == 200
    assert detail.json()["state"] == "failed"
    assert detail.json()["error_message"] == WORKER_LOST
    listed = writer.get("/v1/multimodal/requests?state=processing").json()
    assert listed == []
    failed = writer.get("/v1/multimodal/requests?state=failed").json()
    assert [r["id"] for r in failed] == [request_id]


def test_the_hub_no_longer_shows_it_live(writer, make_client, short_lease):
    request_id = _claimed(writer)
    time.sleep(1.1)
    hub = make_client(["workflows:read"], tenant="tenant-a").get(
        "/v1/operations/hub?include=multimodal"
    )
    assert hub.status_code == 200
    assert [p["id"] for p in hub.json()["processes"]] == []
    process = make_client(["workflows:read"], tenant="tenant-a").get(
        f"/v1/operations/processes/{request_id}"
    )
    assert process.json()["status"] == "failed"


def test_a_request_whose_worker_was_lost_runs_again(writer, short_lease):
    request_id = _claimed(writer)
    time.sleep(1.1)
    again = writer.post(f"/v1/multimodal/requests/{request_id}/execute")
    assert again.status_code == 200
    assert again.json()["state"] == "completed"
    assert again.json()["error_message"] == ""
