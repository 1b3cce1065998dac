"""Console forms: page filters (GET) and the control / policy forms (POST).

Filters are validated like the API's query parameters: a bad value is a form error
shown on the page, never a 500 and never silently clamped.
"""

from __future__ import annotations

from django import forms

from multimodal.domain import (
    MAX_ARTIFACT_BYTES_LIMIT,
    MAX_TEXT_CHARS_LIMIT,
    MAX_TIMEOUT_SECONDS_LIMIT,
    Modality,
    RequestState,
)
from operations.domain import ControlAction

TENANT_MAX_LENGTH = 200
HUB_LIMIT = 100
MULTIMODAL_LIMIT = 200


def _choices(enum) -> list[tuple[str, str]]:
    return [(member.value, member.value.replace("_", " ")) for member in enum]


class TenantField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, max_length=TENANT_MAX_LENGTH, strip=True, **kwargs)


class HubFilterForm(forms.Form):
    include = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Types"
    )
    status = forms.CharField(
        required=False, max_length=50, help_text="Every process of this status (not only live)."
    )
    since = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="UTC; workflow runs started since then (default: last 24 h).",
    )
    tenant = TenantField()

    def __init__(self, *args, include_keys: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["include"].choices = [(key, key) for key in include_keys]


class ControlForm(forms.Form):
    action = forms.ChoiceField(choices=_choices(ControlAction))
    reason = forms.CharField(required=False, max_length=500, strip=True)


class MultimodalFilterForm(forms.Form):
    modality = forms.ChoiceField(required=False, choices=[("", "any"), *_choices(Modality)])
    state = forms.ChoiceField(required=False, choices=[("", "any"), *_choices(RequestState)])
    tenant = TenantField()


class PolicyTenantForm(forms.Form):
    tenant = forms.CharField(max_length=TENANT_MAX_LENGTH, strip=True, label="Tenant id")


class PolicyForm(forms.Form):
    """The fields of a tenant policy; the service's own model validates it again on save."""

    max_text_chars = forms.IntegerField(min_value=1, max_value=MAX_TEXT_CHARS_LIMIT)
    max_artifact_bytes = forms.IntegerField(min_value=1, max_value=MAX_ARTIFACT_BYTES_LIMIT)
    max_timeout_seconds = forms.IntegerField(min_value=1, max_value=MAX_TIMEOUT_SECONDS_LIMIT)
    allowed_modalities = forms.MultipleChoiceField(
        required=False, choices=_choices(Modality), widget=forms.CheckboxSelectMultiple
    )


class OutcomesFilterForm(forms.Form):
    tenant = TenantField(help_text='Blank or "all" for every tenant.')
    domain = forms.CharField(required=False, max_length=200, strip=True)
    window = forms.IntegerField(required=False, min_value=1, max_value=1000)
