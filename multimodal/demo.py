"""Demo data for the multimodal app: requests of two tenants and the operator, in every
state (one claimed, so shown processing), with real outputs (a WAV, image metadata, a transcript).

`seed_demo()` goes through the service's public methods only, and seeds only when the
service holds no request yet. The inputs are made here (a small PNG with Pillow, a WAV
from the offline synthesiser), so no file or network is needed; short texts keep it
well under 1 s with the built-in offline adapters (synthesis is pure Python).
"""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw

from .adapters.offline import synthesise_wav
from .domain import Modality, TenantPolicy
from .services import MultimodalService, get_multimodal_service

DEMO_TIMEOUT_SECONDS = 10  # keeps a misconfigured (networked) adapter from stalling start-up
NOT_AN_ARTIFACT = base64.b64encode(b"this is plain text, not audio or an image").decode()


def _png(width: int, height: int, colour: tuple[int, int, int]) -> str:
    image = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(image).rectangle((width // 4, height // 4, width // 2, height // 2), "white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _wav(text: str) -> str:
    return base64.b64encode(synthesise_wav(text)[0]).decode()


# (tenant, modality, input text, input artifact (base64) or None, what happens after creation)
DEMO_REQUESTS: tuple[tuple[str, Modality, str, str | None, str], ...] = (
    ("acme", Modality.TEXT_TO_SPEECH, "Order shipped.", None, "execute"),
    ("acme", Modality.VISION_ANALYSIS, "", "png:64x48:teal", "execute"),
    ("acme", Modality.SPEECH_TO_TEXT, "", "wav:hello", "execute"),
    ("acme", Modality.SPEECH_TO_TEXT, "", "junk", "execute"),  # fails: not a WAV
    ("acme", Modality.TEXT_TO_SPEECH, "Please hold.", None, "cancel"),
    ("acme", Modality.VISION_ANALYSIS, "", "png:320x200:orange", "leave"),
    ("acme", Modality.TEXT_TO_SPEECH, "Thanks for calling.", None, "leave"),
    ("acme", Modality.SPEECH_TO_TEXT, "", "wav:one moment", "claim"),  # in flight
    ("globex", Modality.TEXT_TO_SPEECH, "Invoice approved.", None, "execute"),
    ("globex", Modality.VISION_ANALYSIS, "", "png:128x128:navy", "execute"),
    ("globex", Modality.VISION_ANALYSIS, "", "junk", "execute"),  # fails: not an image
    ("globex", Modality.VISION_ANALYSIS, "", "png:40x40:grey", "cancel"),
    ("globex", Modality.TEXT_TO_SPEECH, "Statement ready.", None, "leave"),
    ("", Modality.TEXT_TO_SPEECH, "Maintenance at midnight.", None, "execute"),
)

COLOURS = {"teal": (0, 128, 128), "orange": (230, 120, 20), "navy": (20, 30, 110)}
COLOURS["grey"] = (128, 128, 128)

DEMO_POLICIES = {
    "acme": TenantPolicy(max_text_chars=2000, max_timeout_seconds=120),
    "globex": TenantPolicy(
        max_artifact_bytes=2_000_000,
        allowed_modalities=[Modality.TEXT_TO_SPEECH, Modality.VISION_ANALYSIS],
    ),
}


def _artifact(spec: str | None) -> str | None:
    """`png:WxH:colour`, `wav:text`, `junk`, or None: the base64 input for a demo request."""
    if spec is None:
        return None
    kind, _, rest = spec.partition(":")
    if kind == "png":
        size, _, colour = rest.partition(":")
        width, _, height = size.partition("x")
        return _png(int(width), int(height), COLOURS[colour])
    if kind == "wav":
        return _wav(rest)
    return NOT_AN_ARTIFACT


def seed_demo(service: MultimodalService | None = None) -> int:
    """Create the demo requests and policies; returns how many requests (0 if not empty)."""
    service = service or get_multimodal_service()
    if service.list_requests(tenant_id=None, limit=1):
        return 0
    for tenant, modality, text, artifact_spec, then in DEMO_REQUESTS:
        record = service.create_request(
            tenant_id=tenant,
            modality=modality,
            input_text=text,
            input_artifact_base64=_artifact(artifact_spec),
            requested_timeout_seconds=DEMO_TIMEOUT_SECONDS,
            requested_by=f"{tenant or 'operator'}-demo",
        )
        if then == "execute":
            service.execute(tenant_id=tenant, request_id=record.id)
        elif then == "cancel":
            service.cancel(tenant_id=tenant, request_id=record.id)
        elif then == "claim":
            service.claim(tenant_id=tenant, request_id=record.id)
    for tenant, policy in DEMO_POLICIES.items():
        service.replace_policy(tenant_id=None, policy_tenant_id=tenant, policy=policy)
    return len(DEMO_REQUESTS)
