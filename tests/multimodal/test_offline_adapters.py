"""The built-in offline adapters, end to end: real WAV out, real image facts, the STT stub."""

from __future__ import annotations

import base64
import io
import wave

import pytest

from .conftest import REQUESTS_URL, b64, create, create_tts, create_vision, image_bytes, wav_bytes


def result_of(client, request_id: str) -> dict:
    response = client.get(f"{REQUESTS_URL}/{request_id}/result")
    assert response.status_code == 200
    return response.json()


def test_text_to_speech_returns_a_wav_the_stdlib_can_parse(writer):
    created = create_tts(writer, text="Hello, agent33!", execute_now=True).json()
    assert created["state"] == "completed"
    result = result_of(writer, created["id"])
    assert result["request_id"] == created["id"]
    assert result["state"] == "completed"
    data = result["output_data"]
    audio = base64.b64decode(data["audio_base64"], validate=True)
    with wave.open(io.BytesIO(audio), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == data["sample_rate"] == 16000
        frames = wav.getnframes()
        assert frames * 1000 // wav.getframerate() == data["duration_ms"]
        assert any(wav.readframes(frames))  # not silence
    assert data["format"] == "wav"
    assert data["bytes"] == len(audio)
    assert data["duration_ms"] == len("Hello, agent33!") * 60
    assert result["output_artifact_id"].startswith("mmart-")
    assert data["output_artifact_id"] == result["output_artifact_id"]
    assert result["metadata"]["provider"] == "offline-stub"


def test_text_to_speech_is_deterministic_and_text_dependent(writer):
    def audio(text: str) -> str:
        created = create_tts(writer, text=text, execute_now=True).json()
        return result_of(writer, created["id"])["output_data"]["audio_base64"]

    assert audio("same words") == audio("same words")
    assert audio("same words") != audio("other words")


def test_text_to_speech_duration_is_capped_for_long_text(writer):
    created = create_tts(writer, text="a" * 5000, execute_now=True).json()
    data = result_of(writer, created["id"])["output_data"]
    assert data["duration_ms"] == 6000
    assert data["bytes"] < 200_000


@pytest.mark.parametrize(
    "fmt, size, mode",
    [
        ("PNG", (64, 32), "RGB"),
        ("JPEG", (120, 80), "RGB"),
        ("PNG", (7, 9), "L"),
        ("GIF", (5, 5), "P"),
    ],
)
def test_vision_reports_format_dimensions_and_mode(writer, fmt, size, mode):
    created = create_vision(writer, image_bytes(fmt, size, mode), execute_now=True).json()
    assert created["state"] == "completed"
    result = result_of(writer, created["id"])
    assert result["output_data"] == {
        "format": fmt,
        "width": size[0],
        "height": size[1],
        "mode": mode,
    }
    assert f"{size[0]}x{size[1]}" in result["output_text"]


def test_vision_fails_on_a_truncated_png(writer):
    png = image_bytes("PNG", (50, 50))
    created = create_vision(writer, png[: len(png) // 2], execute_now=True).json()
    assert created["state"] == "failed"
    assert created["error_message"] == "Artifact is not a readable image."


def test_vision_fails_on_a_wav(writer):
    created = create_vision(writer, wav_bytes(), execute_now=True).json()
    assert created["state"] == "failed"
    assert created["error_message"] == "Artifact is not a readable image."


def test_speech_to_text_reads_wav_facts_and_marks_the_stub(writer):
    created = create(
        writer,
        modality="speech_to_text",
        input_artifact_base64=b64(wav_bytes(seconds=1.5, rate=8000, channels=2)),
        execute_now=True,
    ).json()
    assert created["state"] == "completed"
    result = result_of(writer, created["id"])
    assert result["output_data"] == {
        "provider": "offline-stub",
        "format": "wav",
        "duration_ms": 1500,
        "sample_rate": 8000,
        "channels": 2,
        "sample_width_bytes": 2,
    }
    assert result["output_text"].startswith("[offline stub")
    assert result["output_artifact_id"] == ""


def test_speech_to_text_fails_on_an_image(writer):
    png = image_bytes()
    created = create(
        writer, modality="speech_to_text", input_artifact_base64=b64(png), execute_now=True
    ).json()
    assert created["state"] == "failed"
    assert created["error_message"].startswith("Artifact is not a readable WAV audio file")


def test_result_timestamps_are_utc_and_ordered(writer):
    created = create_tts(writer, execute_now=True).json()
    result = result_of(writer, created["id"])
    assert result["started_at"].endswith(("Z", "+00:00"))
    assert result["completed_at"] >= result["started_at"]
