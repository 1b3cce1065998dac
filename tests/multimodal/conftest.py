"""Fixtures for the multimodal tests: a fresh service per test, media made on the spot."""

from __future__ import annotations

import base64
import io
import wave

import pytest
from PIL import Image

from agent33_core.registry import services

from . import fake_adapters

READ = "multimodal:read"
WRITE = "multimodal:write"
ADMIN = "multimodal:admin"
REQUESTS_URL = "/v1/multimodal/requests"


@pytest.fixture(autouse=True)
def fresh_multimodal_service():
    services.reset_all()
    fake_adapters.reset()
    yield
    fake_adapters.release_gate()  # never leave a gated worker thread waiting
    services.reset_all()


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 32), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=0).save(buffer, format=fmt)
    return buffer.getvalue()


def wav_bytes(seconds: float = 0.5, rate: int = 8000, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x00\x00" * channels * int(rate * seconds))
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def writer(make_client):
    """A tenant-a principal that may read and write requests."""
    return make_client([READ, WRITE], tenant="tenant-a", sub="alice")


@pytest.fixture
def other_tenant(make_client):
    return make_client([READ, WRITE], tenant="tenant-b", sub="bob")


def create(client, **body):
    """POST a request; `execute_now` defaults to False here so tests drive the lifecycle."""
    body.setdefault("execute_now", False)
    return client.post(REQUESTS_URL, body, format="json")


def create_tts(client, text: str = "hello world", **body):
    return create(client, modality="text_to_speech", input_text=text, **body)


def create_vision(client, data: bytes | None = None, **body):
    return create(
        client, modality="vision_analysis", input_artifact_base64=b64(data or image_bytes()), **body
    )
