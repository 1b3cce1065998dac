"""Built-in adapters that need no network and give the same answer every time.

Text-to-speech synthesises a real 16-bit PCM mono WAV (one tone per character);
vision reads the image header with Pillow; speech-to-text reads the WAV header and
returns a transcript plainly marked as the offline stub's.
"""

from __future__ import annotations

import io
import math
import warnings
import wave
from array import array

from PIL import Image, UnidentifiedImageError

from .base import AdapterError, AdapterInput, AdapterOutput, inline_audio, require_artifact

SAMPLE_RATE = 16_000
TONE_MS = 60  # one tone per character
MAX_DURATION_MS = 6_000  # long texts are cut here, so the WAV stays small
AMPLITUDE = 8_000
OFFLINE_PROVIDER = "offline-stub"


def _tone_frequency(char: str) -> float:
    """A pitch between 220 and 840 Hz derived from the character; silence for spaces."""
    return 0.0 if char.isspace() else 220.0 + (ord(char) % 32) * 20.0


def synthesise_wav(text: str) -> tuple[bytes, int]:
    """The WAV bytes for `text` and their duration in milliseconds."""
    chars = text[: MAX_DURATION_MS // TONE_MS] or " "
    samples_per_tone = SAMPLE_RATE * TONE_MS // 1000
    fade = samples_per_tone // 10  # short ramps avoid clicks between tones
    samples = array("h")
    for char in chars:
        frequency = _tone_frequency(char)
        step = 2.0 * math.pi * frequency / SAMPLE_RATE
        for n in range(samples_per_tone):
            envelope = min(1.0, n / fade, (samples_per_tone - n) / fade)
            samples.append(int(AMPLITUDE * envelope * math.sin(step * n)))
    if samples.itemsize != 2:  # pragma: no cover - "h" is 16-bit on every supported platform
        raise AdapterError("16-bit samples are not available on this platform.")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.tobytes())  # WAV is little-endian, as are supported hosts
    duration_ms = len(samples) * 1000 // SAMPLE_RATE
    return buffer.getvalue(), duration_ms


def read_wav(data: bytes) -> dict[str, int | str]:
    """Format facts of a WAV file; `AdapterError` when it is not one."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            channels, width = wav.getnchannels(), wav.getsampwidth()
    except (wave.Error, EOFError, ValueError) as exc:
        raise AdapterError(f"Artifact is not a readable WAV audio file ({exc}).") from exc
    if rate <= 0:
        raise AdapterError("Artifact is not a readable WAV audio file (sample rate is 0).")
    return {
        "format": "wav",
        "duration_ms": frames * 1000 // rate,
        "sample_rate": rate,
        "channels": channels,
        "sample_width_bytes": width,
    }


class TextToSpeechAdapter:
    def run(self, request: AdapterInput) -> AdapterOutput:
        if not request.input_text.strip():
            raise AdapterError("Text-to-speech needs non-empty input_text.")
        audio, duration_ms = synthesise_wav(request.input_text)
        return AdapterOutput(
            output_artifact=audio,
            output_artifact_content_type="audio/wav",
            output_data={
                "format": "wav",
                "sample_rate": SAMPLE_RATE,
                "channels": 1,
                "duration_ms": duration_ms,
                "bytes": len(audio),
                **inline_audio(audio),
            },
            metadata={
                "provider": OFFLINE_PROVIDER,
                "truncated": len(request.input_text) * TONE_MS > MAX_DURATION_MS,
            },
        )


class SpeechToTextAdapter:
    def run(self, request: AdapterInput) -> AdapterOutput:
        facts = read_wav(require_artifact(request))
        seconds = int(facts["duration_ms"]) / 1000
        return AdapterOutput(
            output_text=(
                f"[offline stub: no speech recognition performed] {seconds:.2f} s of "
                f"{facts['sample_rate']} Hz, {facts['channels']}-channel WAV audio."
            ),
            output_data={"provider": OFFLINE_PROVIDER, **facts},
            metadata={"provider": OFFLINE_PROVIDER},
        )


class VisionAnalysisAdapter:
    def run(self, request: AdapterInput) -> AdapterOutput:
        data = require_artifact(request)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as image:
                    facts = {
                        "format": image.format or "unknown",
                        "width": image.width,
                        "height": image.height,
                        "mode": image.mode,
                    }
                    image.verify()  # reads the whole file: truncated images fail here
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise AdapterError(f"Image is too large to analyse ({exc}).") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise AdapterError("Artifact is not a readable image.") from exc
        return AdapterOutput(
            output_text=f"{facts['format']} image, {facts['width']}x{facts['height']}, "
            f"mode {facts['mode']}.",
            output_data=facts,
            metadata={"provider": OFFLINE_PROVIDER},
        )
