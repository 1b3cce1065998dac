"""What the multimodal API reads and writes: input, query and output serializers."""

from __future__ import annotations

from rest_framework import serializers

from agent33_core.fields import (
    QueryIntegerField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    TenantQuerySerializer,
)

from .domain import (
    DEFAULT_MAX_ARTIFACT_BYTES,
    DEFAULT_MAX_TEXT_CHARS,
    DEFAULT_MAX_TIMEOUT_SECONDS,
    MAX_ARTIFACT_BYTES_LIMIT,
    MAX_TEXT_CHARS_LIMIT,
    MAX_TIMEOUT_SECONDS_LIMIT,
    Modality,
    RequestState,
    ResultState,
)

MODALITY_CHOICES = [m.value for m in Modality]
STATE_CHOICES = [s.value for s in RequestState]
RESULT_STATE_CHOICES = [s.value for s in ResultState]


class MultimodalRequestCreateSerializer(serializers.Serializer):
    modality = StrictChoiceField(choices=MODALITY_CHOICES)
    input_text = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Text to speak (text_to_speech) or a prompt; at most the policy's "
        "max_text_chars.",
    )
    input_artifact_id = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=64,
        help_text="An artifact this service stored for the same tenant, e.g. the "
        "output_artifact_id of a text_to_speech result.",
    )
    input_artifact_base64 = StrictCharField(
        required=False,
        help_text="The artifact (audio or image) as strict base64; at most the policy's "
        "max_artifact_bytes once decoded. Never echoed back.",
    )
    requested_timeout_seconds = StrictIntegerField(
        required=False,
        min_value=1,
        help_text="Bound on one adapter run (default 60, or the policy's "
        "max_timeout_seconds when lower).",
    )
    requested_by = StrictCharField(
        required=False, max_length=200, help_text="Default: the caller's `sub`."
    )
    execute_now = StrictBooleanField(
        required=False, default=True, help_text="Run the adapter before answering."
    )

    def validate(self, attrs: dict) -> dict:
        modality = Modality(attrs["modality"])
        has_artifact = bool(attrs.get("input_artifact_id")) or ("input_artifact_base64" in attrs)
        if modality is Modality.TEXT_TO_SPEECH and not attrs.get("input_text", "").strip():
            raise serializers.ValidationError(
                {"input_text": ["This field is required for text_to_speech."]}
            )
        if modality is not Modality.TEXT_TO_SPEECH and not has_artifact:
            raise serializers.ValidationError(
                {
                    "input_artifact_base64": [
                        f"An artifact (input_artifact_base64 or input_artifact_id) is "
                        f"required for {modality.value}."
                    ]
                }
            )
        if attrs.get("input_artifact_id") and "input_artifact_base64" in attrs:
            raise serializers.ValidationError(
                {
                    "input_artifact_id": [
                        "Give input_artifact_id or input_artifact_base64, not both."
                    ]
                }
            )
        return attrs


class MultimodalRequestSerializer(serializers.Serializer):
    id = serializers.CharField()
    tenant_id = serializers.CharField(help_text='"" for a request created by an operator.')
    modality = serializers.ChoiceField(choices=MODALITY_CHOICES)
    input_text = serializers.CharField()
    input_artifact_id = serializers.CharField()
    input_artifact_bytes = serializers.IntegerField()
    requested_timeout_seconds = serializers.IntegerField()
    requested_by = serializers.CharField()
    state = serializers.ChoiceField(choices=STATE_CHOICES)
    result_id = serializers.CharField(help_text='"" until a result exists.')
    error_message = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class MultimodalRequestListQuerySerializer(TenantQuerySerializer):
    """`?modality=&state=&limit=&tenant_id=`: an empty value is a 400, never ignored."""

    modality = StrictChoiceField(choices=MODALITY_CHOICES, required=False)
    state = StrictChoiceField(choices=STATE_CHOICES, required=False)
    limit = QueryIntegerField(
        min_value=1, max_value=500, default=50, help_text="Default 50, 1-500 (never clamped)."
    )


class MultimodalResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    request_id = serializers.CharField()
    state = serializers.ChoiceField(choices=RESULT_STATE_CHOICES)
    output_text = serializers.CharField()
    output_artifact_id = serializers.CharField(help_text='"" when the run produced no artifact.')
    output_data = serializers.DictField(
        help_text="Per modality: text_to_speech {format, sample_rate, channels, duration_ms, "
        "bytes, audio_base64 (audio up to 1 MiB), output_artifact_id}; vision_analysis "
        "{format, width, height, mode}; speech_to_text {provider, format, duration_ms, "
        "sample_rate, channels}."
    )
    started_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField()
    metadata = serializers.DictField()


class TenantPolicySerializer(serializers.Serializer):
    """The policy as read, and as written by PUT (omitted fields take the defaults)."""

    max_text_chars = StrictIntegerField(
        min_value=1, max_value=MAX_TEXT_CHARS_LIMIT, default=DEFAULT_MAX_TEXT_CHARS
    )
    max_artifact_bytes = StrictIntegerField(
        min_value=1, max_value=MAX_ARTIFACT_BYTES_LIMIT, default=DEFAULT_MAX_ARTIFACT_BYTES
    )
    max_timeout_seconds = StrictIntegerField(
        min_value=1, max_value=MAX_TIMEOUT_SECONDS_LIMIT, default=DEFAULT_MAX_TIMEOUT_SECONDS
    )
    allowed_modalities = serializers.ListField(
        child=StrictChoiceField(choices=MODALITY_CHOICES),
        allow_empty=True,
        max_length=len(MODALITY_CHOICES) * 4,
        default=lambda: list(MODALITY_CHOICES),
    )

    def validate_allowed_modalities(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))  # duplicates are harmless; keep the first of each
