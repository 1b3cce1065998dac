"""The OpenAI-compatible adapters against a fake provider on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent33_core.registry import services

from .conftest import REQUESTS_URL, b64, create, create_tts, create_vision, image_bytes, wav_bytes

HTTP = "multimodal.adapters.openai_http"
API_KEY = "test-key-123"


@dataclass
class FakeProvider:
    """What the fake answers (`mode`) and what it saw (`calls`)."""

    base_url: str = ""
    mode: str = "ok"  # ok | error | hang
    calls: list[dict] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def make_handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            provider.calls.append(
                {
                    "path": self.path,
                    "authorization": self.headers.get("Authorization", ""),
                    "content_type": self.headers.get("Content-Type", ""),
                    "body": body,
                }
            )
            if provider.mode == "hang":
                provider.stop.wait(5)  # longer than the request's 1 s timeout
                return
            if provider.mode == "error":
                self._send(500, b'{"error": "boom"}', "application/json")
            elif self.path.endswith("/audio/transcriptions"):
                self._send(
                    200, json.dumps({"text": "hello from the fake"}).encode(), "application/json"
                )
            elif self.path.endswith("/audio/speech"):
                self._send(200, wav_bytes(0.25, 8000), "audio/wav")
            elif self.path.endswith("/chat/completions"):
                answer = {
                    "choices": [{"message": {"role": "assistant", "content": "A black square."}}]
                }
                self._send(200, json.dumps(answer).encode(), "application/json")
            else:
                self._send(404, b"{}", "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def provider(settings) -> Iterator[FakeProvider]:
    fake = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    settings.MULTIMODAL_HTTP_BASE_URL = fake.base_url
    settings.MULTIMODAL_HTTP_API_KEY = API_KEY
    settings.MULTIMODAL_ADAPTERS = {
        "speech_to_text": f"{HTTP}.SpeechToTextAdapter",
        "text_to_speech": f"{HTTP}.TextToSpeechAdapter",
        "vision_analysis": f"{HTTP}.VisionAnalysisAdapter",
    }
    services.reset_all()
    try:
        yield fake
    finally:
        fake.stop.set()
        server.shutdown()
        server.server_close()


def result_of(client, request_id: str) -> dict:
    response = client.get(f"{REQUESTS_URL}/{request_id}/result")
    assert response.status_code == 200
    return response.json()


def test_speech_to_text_posts_multipart_and_returns_the_transcript(writer, provider):
    audio = wav_bytes(0.5)
    created = create(
        writer, modality="speech_to_text", input_artifact_base64=b64(audio), execute_now=True
    ).json()
    assert created["state"] == "completed"
    result = result_of(writer, created["id"])
    assert result["output_text"] == "hello from the fake"
    assert result["output_data"]["provider"] == "openai-compatible"
    call = provider.calls[0]
    assert call["path"] == "/v1/audio/transcriptions"
    assert call["authorization"] == f"Bearer {API_KEY}"
    assert call["content_type"].startswith("multipart/form-data")
    assert audio in call["body"]
    assert b'name="model"' in call["body"]


def test_text_to_speech_posts_json_and_stores_the_wav(writer, provider):
    created = create_tts(writer, text="say this", execute_now=True).json()
    assert created["state"] == "completed"
    result = result_of(writer, created["id"])
    data = result["output_data"]
    assert data["format"] == "wav"
    assert data["sample_rate"] == 8000
    assert data["duration_ms"] == 250
    assert base64.b64decode(data["audio_base64"]) == wav_bytes(0.25, 8000)
    assert result["output_artifact_id"].startswith("mmart-")
    sent = json.loads(provider.calls[0]["body"])
    assert provider.calls[0]["path"] == "/v1/audio/speech"
    assert sent["input"] == "say this"
    assert sent["response_format"] == "wav"
    assert {"model", "voice"} <= set(sent)


def test_vision_sends_an_image_url_part_and_returns_the_message(writer, provider):
    png = image_bytes("PNG", (4, 4))
    created = create_vision(writer, png, input_text="What is it?", execute_now=True).json()
    assert created["state"] == "completed"
    assert result_of(writer, created["id"])["output_text"] == "A black square."
    sent = json.loads(provider.calls[0]["body"])
    assert provider.calls[0]["path"] == "/v1/chat/completions"
    parts = sent["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "What is it?"}
    assert parts[1]["type"] == "image_url"
    assert parts[1]["image_url"]["url"] == f"data:image/png;base64,{b64(png)}"


@pytest.mark.parametrize("modality", ["speech_to_text", "text_to_speech", "vision_analysis"])
def test_provider_http_500_fails_the_request_naming_the_status(writer, provider, modality):
    provider.mode = "error"
    if modality == "text_to_speech":
        response = create_tts(writer, execute_now=True)
    else:
        response = create(
            writer, modality=modality, input_artifact_base64=b64(wav_bytes()), execute_now=True
        )
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "failed"
    assert "HTTP 500" in body["error_message"]
    assert result_of(writer, body["id"])["state"] == "failed"


def test_hanging_provider_fails_the_request_by_timeout(writer, provider):
    provider.mode = "hang"
    response = create_vision(writer, requested_timeout_seconds=1, execute_now=True)
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "failed"
    assert "timed out" in body["error_message"]


def test_unreachable_provider_fails_the_request(writer, settings):
    settings.MULTIMODAL_HTTP_BASE_URL = "http://127.0.0.1:9/v1"  # discard port: refused
    settings.MULTIMODAL_ADAPTERS = {
        **settings.MULTIMODAL_ADAPTERS,
        "text_to_speech": f"{HTTP}.TextToSpeechAdapter",
    }
    services.reset_all()
    body = create_tts(writer, requested_timeout_seconds=2, execute_now=True).json()
    assert body["state"] == "failed"
    assert "/audio/speech" in body["error_message"]


def test_a_provider_answer_over_the_response_cap_fails_the_request(writer, provider, settings):
    settings.MULTIMODAL_HTTP_MAX_RESPONSE_BYTES = 1000  # the fake's WAV is 4,044 bytes
    response = create_tts(writer, text="say this", execute_now=True)
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "failed"
    assert body["error_message"] == (
        "Provider response from /audio/speech is larger than "
        "MULTIMODAL_HTTP_MAX_RESPONSE_BYTES (1000 bytes)."
    )
    result = result_of(writer, body["id"])
    assert (result["state"], result["output_artifact_id"]) == ("failed", "")
