"""OpenAI-compatible HTTP adapters: the production path.

Base URL and key come from `MULTIMODAL_HTTP_BASE_URL` / `MULTIMODAL_HTTP_API_KEY`;
models and voice from `MULTIMODAL_HTTP_{STT,TTS,VISION}_MODEL` and
`MULTIMODAL_HTTP_TTS_VOICE` (defaults below). Every call carries the request's timeout,
so a hanging provider ends the worker thread too, and reads at most
`MULTIMODAL_HTTP_MAX_RESPONSE_BYTES` (32 MiB) of the answer, so a provider cannot make the
process hold more than that for one run.
"""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import httpx
from django.conf import settings

from .base import AdapterError, AdapterInput, AdapterOutput, inline_audio, require_artifact

DEFAULT_STT_MODEL = "whisper-1"
DEFAULT_TTS_MODEL = "tts-1"
DEFAULT_TTS_VOICE = "alloy"
DEFAULT_VISION_MODEL = "gpt-4o-mini"
DEFAULT_VISION_PROMPT = "Describe this image."
PROVIDER = "openai-compatible"
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# Headers that describe the body on the wire, not the decoded bytes kept.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})

_AUDIO_SIGNATURES = (
    (b"RIFF", "audio.wav", "audio/wav"),
    (b"ID3", "audio.mp3", "audio/mpeg"),
    (b"\xff\xfb", "audio.mp3", "audio/mpeg"),
    (b"OggS", "audio.ogg", "audio/ogg"),
    (b"fLaC", "audio.flac", "audio/flac"),
)
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


def _audio_file_name(data: bytes) -> tuple[str, str]:
    for signature, name, content_type in _AUDIO_SIGNATURES:
        if data.startswith(signature):
            return name, content_type
    return "audio.bin", "application/octet-stream"


def _image_content_type(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, content_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return content_type
    return "application/octet-stream"


def _read_at_most(response: httpx.Response, limit: int, path: str) -> bytes:
    """The decoded body, or `AdapterError` as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise AdapterError(
                f"Provider response from {path} is larger than "
                f"MULTIMODAL_HTTP_MAX_RESPONSE_BYTES ({limit} bytes)."
            )
        chunks.append(chunk)
    return b"".join(chunks)


class OpenAIHTTPAdapter:
    """Shared plumbing: settings, one short-lived client per call, errors as `AdapterError`."""

    def __init__(self) -> None:
        self.base_url = str(getattr(settings, "MULTIMODAL_HTTP_BASE_URL", "")).rstrip("/")
        self.api_key = str(getattr(settings, "MULTIMODAL_HTTP_API_KEY", ""))
        if not self.base_url:
            raise AdapterError("MULTIMODAL_HTTP_BASE_URL is not set.")

    def _post(self, path: str, timeout_seconds: int, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        limit = int(
            getattr(settings, "MULTIMODAL_HTTP_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES)
        )
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(timeout_seconds), headers=headers) as client,
                client.stream("POST", f"{self.base_url}{path}", **kwargs) as streamed,
            ):
                content = _read_at_most(streamed, limit, path)
                response = httpx.Response(
                    streamed.status_code,
                    headers=[
                        (k, v)
                        for k, v in streamed.headers.items()
                        if k.lower() not in _WIRE_HEADERS
                    ],
                    content=content,
                )
        except httpx.TimeoutException as exc:
            raise AdapterError(
                f"Provider request to {path} timed out after {timeout_seconds} s."
            ) from exc
        except httpx.HTTPError as exc:
            raise AdapterError(f"Provider request to {path} failed: {exc}.") from exc
        if response.status_code >= 400:
            raise AdapterError(
                f"Provider returned HTTP {response.status_code} for {path}: {response.text[:200]}"
            )
        return response

    @staticmethod
    def _json(response: httpx.Response, path: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise AdapterError(f"Provider response from {path} is not JSON.") from exc
        if not isinstance(body, dict):
            raise AdapterError(f"Provider response from {path} is not a JSON object.")
        return body


class SpeechToTextAdapter(OpenAIHTTPAdapter):
    path = "/audio/transcriptions"

    def run(self, request: AdapterInput) -> AdapterOutput:
        audio = require_artifact(request)
        model = getattr(settings, "MULTIMODAL_HTTP_STT_MODEL", DEFAULT_STT_MODEL)
        name, content_type = _audio_file_name(audio)
        response = self._post(
            self.path,
            request.timeout_seconds,
            files={"file": (name, audio, content_type)},
            data={"model": model},
        )
        text = self._json(response, self.path).get("text")
        if not isinstance(text, str):
            raise AdapterError(f"Provider response from {self.path} has no `text`.")
        return AdapterOutput(
            output_text=text,
            output_data={"provider": PROVIDER, "model": model},
            metadata={"provider": PROVIDER, "model": model},
        )


class TextToSpeechAdapter(OpenAIHTTPAdapter):
    path = "/audio/speech"

    def run(self, request: AdapterInput) -> AdapterOutput:
        model = getattr(settings, "MULTIMODAL_HTTP_TTS_MODEL", DEFAULT_TTS_MODEL)
        voice = getattr(settings, "MULTIMODAL_HTTP_TTS_VOICE", DEFAULT_TTS_VOICE)
        response = self._post(
            self.path,
            request.timeout_seconds,
            json={
                "model": model,
                "input": request.input_text,
                "voice": voice,
                "response_format": "wav",
            },
        )
        audio = response.content
        if not audio:
            raise AdapterError(f"Provider response from {self.path} is empty.")
        data: dict[str, Any] = {"format": "wav", "bytes": len(audio)}
        try:
            with wave.open(io.BytesIO(audio), "rb") as wav:
                data["sample_rate"] = wav.getframerate()
                data["channels"] = wav.getnchannels()
                data["duration_ms"] = wav.getnframes() * 1000 // max(wav.getframerate(), 1)
        except (wave.Error, EOFError):
            pass  # some providers stream a WAV with no frame count; keep the bytes anyway
        return AdapterOutput(
            output_artifact=audio,
            output_artifact_content_type=response.headers.get("content-type", "audio/wav"),
            output_data={**data, **inline_audio(audio)},
            metadata={"provider": PROVIDER, "model": model, "voice": voice},
        )


class VisionAnalysisAdapter(OpenAIHTTPAdapter):
    path = "/chat/completions"

    def run(self, request: AdapterInput) -> AdapterOutput:
        image = require_artifact(request)
        model = getattr(settings, "MULTIMODAL_HTTP_VISION_MODEL", DEFAULT_VISION_MODEL)
        data_url = (
            f"data:{_image_content_type(image)};base64,{base64.b64encode(image).decode('ascii')}"
        )
        prompt = request.input_text.strip() or DEFAULT_VISION_PROMPT
        body = {
            "model": model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": prompt},
                        {"type": "image_url", "image_url": {"url": data_url}},
                    ],
                }
            ],
        }
        response = self._post(self.path, request.timeout_seconds, json=body)
        payload = self._json(response, self.path)
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise AdapterError(
                f"Provider response from {self.path} has no choices[0].message.content."
            ) from exc
        if not isinstance(content, str):
            raise AdapterError(f"Provider response from {self.path} content is not text.")
        return AdapterOutput(
            output_text=content,
            output_data={"provider": PROVIDER, "model": model},
            metadata={"provider": PROVIDER, "model": model, "usage": payload.get("usage", {})},
        )
