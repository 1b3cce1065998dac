"""Memory bounded in bytes (contract §1): input artifacts and results count against
`MULTIMODAL_MAX_BYTES_PER_TENANT`; finished requests are evicted earliest finished first;
when live requests leave no room a new request is a 429 `quota_exceeded` storing nothing."""

from __future__ import annotations

import re

import pytest

from agent33_core.registry import services
from multimodal.services import get_multimodal_service

from .conftest import REQUESTS_URL, b64, create, create_tts, create_vision, image_bytes, wav_bytes

KB = 1000
FAKES = "tests.multimodal.fake_adapters"
# Offline TTS of 100+ characters: a 6 s, 16 kHz WAV (192 KB) plus its base64 inline copy.
LONG_TEXT = "a long sentence to speak " * 5


def url(request_id: str, suffix: str = "") -> str:
    return f"{REQUESTS_URL}/{request_id}" + (f"/{suffix}" if suffix else "")


@pytest.fixture
def byte_cap(settings):
    def use(max_bytes: int, max_requests: int = 10_000) -> None:
        settings.MULTIMODAL_MAX_BYTES_PER_TENANT = max_bytes
        settings.MULTIMODAL_MAX_REQUESTS_PER_TENANT = max_requests
        services.reset_all()

    return use


def ids(client) -> list[str]:
    response = client.get(REQUESTS_URL, {"limit": 500})
    assert response.status_code == 200
    return [r["id"] for r in response.json()]


def pending_vision(client, size: int) -> str:
    """A pending vision request holding an input artifact of `size` bytes."""
    response = create_vision(client, b"\x00" * size)
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def assert_totals_within_cap() -> None:
    """The store's byte totals are what its requests hold, and within the cap."""
    store = get_multimodal_service().stores.requests
    records = store.newest(tenant_id=None, status=None, limit=100_000).records
    for tenant in {r.tenant_id for r in records}:
        mine = [r for r in records if r.tenant_id == tenant]
        count, used = store.usage(tenant)
        assert count == len(mine)
        assert used == sum(map(store.spec.size_of, mine))
        assert used <= store.spec.max_bytes


QUOTA_DETAIL = re.compile(
    r"This request needs \d+ bytes of multimodal storage and the tenant's live requests "
    r"hold \d+ of its \d+ bytes \(MULTIMODAL_MAX_BYTES_PER_TENANT\); execute or cancel "
    r"some first\."
)


def test_forty_pending_large_artifacts_cannot_grow_past_the_cap(writer, byte_cap):
    byte_cap(1_000 * KB)
    codes = [create_vision(writer, b"\x00" * (100 * KB)).status_code for _ in range(40)]
    stored = codes.count(201)
    assert 0 < stored < 10
    assert codes == [201] * stored + [429] * (40 - stored)
    assert len(ids(writer)) == stored
    assert_totals_within_cap()


def test_live_requests_filling_the_cap_make_a_new_one_429_storing_nothing(writer, byte_cap):
    byte_cap(300 * KB)
    live = [pending_vision(writer, 100 * KB) for _ in range(2)]
    response = create_vision(writer, b"\x00" * (100 * KB))
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert QUOTA_DETAIL.fullmatch(body["detail"]), body["detail"]
    assert "300000 bytes" in body["detail"]
    assert set(body) == {"detail", "code"}
    assert ids(writer) == live[::-1]
    # The cap is in bytes, not records: a small request still fits.
    small = create_tts(writer)
    assert small.status_code == 201
    assert ids(writer) == [small.json()["id"], *live[::-1]]
    assert_totals_within_cap()


def test_finished_requests_are_evicted_earliest_finished_first(writer, byte_cap):
    byte_cap(300 * KB)
    first, second = (pending_vision(writer, 100 * KB) for _ in range(2))
    assert writer.post(url(second, "cancel")).status_code == 200  # finished first
    assert writer.post(url(first, "cancel")).status_code == 200
    newest = pending_vision(writer, 100 * KB)
    assert ids(writer) == [newest, first]
    gone = writer.get(url(second))
    assert gone.status_code == 404
    assert gone.json()["code"] == "not_found"
    assert_totals_within_cap()


def test_a_refused_request_evicts_nothing(writer, byte_cap):
    byte_cap(300 * KB)
    live = pending_vision(writer, 100 * KB)
    finished = pending_vision(writer, 100 * KB)
    writer.post(url(finished, "cancel"))
    response = create_vision(writer, b"\x00" * (200 * KB))
    assert response.status_code == 429
    assert response.json()["code"] == "quota_exceeded"
    assert ids(writer) == [finished, live]
    assert writer.get(url(finished)).json()["state"] == "cancelled"


def test_a_request_larger_than_the_whole_cap_is_429_for_an_empty_tenant(writer, byte_cap):
    byte_cap(100 * KB)
    response = create_vision(writer, b"\x00" * (150 * KB))
    assert response.status_code == 429
    assert response.json()["code"] == "quota_exceeded"
    assert "of its 100000 bytes" in response.json()["detail"]
    assert ids(writer) == []


def test_one_tenants_bytes_never_refuse_another_tenant(writer, other_tenant, byte_cap):
    byte_cap(300 * KB)
    mine = [pending_vision(writer, 100 * KB) for _ in range(2)]
    assert create_vision(writer, b"\x00" * (100 * KB)).status_code == 429
    theirs = create_vision(other_tenant, b"\x00" * (100 * KB))
    assert theirs.status_code == 201
    assert ids(writer) == mine[::-1]
    assert ids(other_tenant) == [theirs.json()["id"]]


def test_results_count_and_storing_one_evicts_the_earliest_finished(writer, byte_cap):
    byte_cap(1_000 * KB)
    first = create_tts(writer, text=LONG_TEXT, execute_now=True).json()
    first_result = writer.get(url(first["id"], "result")).json()
    assert first_result["output_data"]["bytes"] > 190 * KB  # the WAV, stored twice
    second = create_tts(writer, text=LONG_TEXT, execute_now=True).json()
    third = create_tts(writer, text=LONG_TEXT, execute_now=True).json()
    assert [first["state"], second["state"], third["state"]] == ["completed"] * 3
    assert ids(writer) == [third["id"], second["id"]]
    assert writer.get(url(first["id"], "result")).status_code == 404
    reuse = create(
        writer, modality="speech_to_text", input_artifact_id=first_result["output_artifact_id"]
    )
    assert reuse.status_code == 400  # the output artifact went with its request
    assert reuse.json()["code"] == "invalid"
    assert_totals_within_cap()


def test_output_that_cannot_fit_beside_live_requests_fails_the_run_and_can_retry(writer, byte_cap):
    byte_cap(500 * KB)
    live = pending_vision(writer, 100 * KB)
    response = create_tts(writer, text=LONG_TEXT, execute_now=True)
    assert response.status_code == 201
    failed = response.json()
    assert failed["state"] == "failed"
    assert failed["error_message"].startswith("The output (")
    assert "does not fit the tenant's multimodal storage" in failed["error_message"]
    assert "(MULTIMODAL_MAX_BYTES_PER_TENANT)" in failed["error_message"]
    result = writer.get(url(failed["id"], "result"))
    assert result.status_code == 200
    assert result.json()["state"] == "failed"
    assert result.json()["output_artifact_id"] == ""
    assert result.json()["output_data"] == {}
    assert_totals_within_cap()

    assert writer.post(url(live, "cancel")).status_code == 200
    retried = writer.post(url(failed["id"], "execute"))
    assert retried.status_code == 200
    assert retried.json()["state"] == "completed"
    assert ids(writer) == [failed["id"]]  # the cancelled one made room for the result
    assert_totals_within_cap()


def test_a_request_reusing_an_artifact_counts_its_bytes(writer, byte_cap):
    byte_cap(700 * KB)
    tts = create_tts(writer, text=LONG_TEXT, execute_now=True).json()
    artifact_id = writer.get(url(tts["id"], "result")).json()["output_artifact_id"]
    stt = create(writer, modality="speech_to_text", input_artifact_id=artifact_id)
    assert stt.status_code == 201
    assert stt.json()["input_artifact_bytes"] > 190 * KB
    # The pending STT request (about 210 KB) and the TTS request (about 450 KB) nearly fill
    # the cap: the reused artifact is counted again, though the bytes are shared.
    vision = create_vision(writer, b"\x00" * (100 * KB))
    assert vision.status_code == 201  # the finished TTS request is evicted to make room
    assert ids(writer) == [vision.json()["id"], stt.json()["id"]]
    assert_totals_within_cap()


def test_count_cap_with_only_live_requests_is_429(writer, byte_cap):
    byte_cap(64 * 1024 * 1024, max_requests=2)
    live = [create_tts(writer).json()["id"] for _ in range(2)]
    response = create_tts(writer)
    assert response.status_code == 429
    assert response.json() == {
        "detail": "The tenant already has 2 live requests, the per-tenant cap "
        "(MULTIMODAL_MAX_REQUESTS_PER_TENANT); execute or cancel some first.",
        "code": "quota_exceeded",
    }
    assert ids(writer) == live[::-1]


# --- what a run may store ----------------------------------------------------------------


@pytest.fixture
def vision_adapter(settings):
    def use(name: str) -> None:
        settings.MULTIMODAL_ADAPTERS = {
            **settings.MULTIMODAL_ADAPTERS,
            "vision_analysis": f"{FAKES}.{name}",
        }
        services.reset_all()

    return use


def test_a_long_adapter_error_is_cut_to_plain_text_and_fits_the_reserve(
    writer, vision_adapter, settings
):
    vision_adapter("LongErrorAdapter")
    settings.MULTIMODAL_MAX_BYTES_PER_TENANT = 1000
    services.reset_all()
    needed = int(re.search(r"needs (\d+) bytes", create_vision(writer).json()["detail"])[1])
    settings.MULTIMODAL_MAX_BYTES_PER_TENANT = needed  # exactly one request's worth
    services.reset_all()

    response = create_vision(writer, execute_now=True)
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "failed"
    message = body["error_message"]
    assert len(message) == 1000
    assert message.startswith("\U0001d11e" * 10)
    assert message.endswith("…")
    assert not any(ord(c) < 32 for c in message)
    result = writer.get(url(body["id"], "result"))
    assert result.status_code == 200
    assert result.json()["metadata"]["error"] == message
    assert_totals_within_cap()
    retried = writer.post(url(body["id"], "execute"))  # a second failed run fits as well
    assert retried.status_code == 200
    assert retried.json()["state"] == "failed"
    assert_totals_within_cap()


@pytest.mark.parametrize(
    "kind, problem",
    [
        ("surrogate", "output_text is not valid text."),
        ("nan", "output_data: Numbers must be finite"),
        ("surrogate-key", "metadata: Object keys must be valid Unicode strings."),
        ("bytes", "output_data: it holds values that are not JSON."),
    ],
)
def test_output_no_read_could_render_fails_the_run_and_every_read_renders(
    writer, vision_adapter, kind, problem
):
    vision_adapter("UnstorableOutputAdapter")
    png = image_bytes()
    response = create_vision(writer, png, input_text=kind, execute_now=True)
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "failed"
    assert body["error_message"].startswith(
        f"The adapter returned output that cannot be stored: {problem}"
    )
    for path in (url(body["id"]), url(body["id"], "result"), REQUESTS_URL):
        read = writer.get(path)
        assert read.status_code == 200
        read.content.decode("utf-8")


def test_default_caps_hold_an_artifact_at_the_default_policy_maximum(writer):
    audio = wav_bytes(seconds=312, rate=8000)  # 4,992,044 bytes: under 5,000,000
    assert len(audio) <= 5_000_000
    response = create(
        writer, modality="speech_to_text", input_artifact_base64=b64(audio), execute_now=True
    )
    assert response.status_code == 201
    assert response.json()["state"] == "completed"
