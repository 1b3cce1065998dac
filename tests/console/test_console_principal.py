"""The console acts only as the logged-in staff user: a bearer token sent with a console
request is ignored, never combined with the session (contract §2)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from agent33_site.security.tokens import issue_token
from multimodal.domain import RequestState
from multimodal.services import get_multimodal_service
from operations.sources.budgets.services import get_budgets_service

from .conftest import make_user

pytestmark = pytest.mark.django_db

HUB = "/admin/console/hub/"
MULTIMODAL = "/admin/console/multimodal/"
# A tenant token that would grant everything, were the console to read it.
TENANT_ADMIN_TOKEN_SCOPES = ["admin", "workflows:execute", "multimodal:write", "multimodal:admin"]


def bearer_header(tenant: str = "acme") -> dict[str, str]:
    token = issue_token(sub="acme-integration", scopes=TENANT_ADMIN_TOKEN_SCOPES, tenant_id=tenant)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def csrf_client(user) -> Client:
    """A logged-in browser-like client that must send the CSRF token with every POST."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_token(client: Client, page: str) -> str:
    response = client.get(page)
    assert response.status_code == 200
    return client.cookies["csrftoken"].value


def globex_budget(state: str = "active") -> str:
    return get_budgets_service().list(tenant_id="globex", status=state, limit=1)[0].id


def globex_request(state: RequestState) -> str:
    return get_multimodal_service().list_requests(tenant_id="globex", state=state, limit=1)[0].id


def test_read_only_staff_with_a_tenant_bearer_cannot_control_a_process(demo):
    viewer = csrf_client(make_user("viewer", staff=True))
    budget = globex_budget()
    token = csrf_token(viewer, f"{HUB}{budget}/")
    response = viewer.post(
        f"{HUB}{budget}/control/",
        {"action": "pause", "reason": "mixed principals", "csrfmiddlewaretoken": token},
        **bearer_header(),
    )
    assert response.status_code == 403
    assert get_budgets_service().get(tenant_id=None, record_id=budget).state == "active"


def test_read_only_staff_with_a_tenant_bearer_cannot_cancel_a_multimodal_request(demo):
    viewer = csrf_client(make_user("viewer", staff=True))
    request_id = globex_request(RequestState.PENDING)
    token = csrf_token(viewer, f"{MULTIMODAL}requests/{request_id}/")
    for verb in ("cancel", "execute"):
        response = viewer.post(
            f"{MULTIMODAL}requests/{request_id}/{verb}/",
            {"csrfmiddlewaretoken": token},
            **bearer_header(),
        )
        assert response.status_code == 403
    record = get_multimodal_service().get_request(tenant_id=None, request_id=request_id)
    assert record.state is RequestState.PENDING


def test_read_only_staff_with_a_tenant_bearer_cannot_write_a_policy(demo):
    viewer = csrf_client(make_user("viewer", staff=True))
    token = csrf_token(viewer, f"{MULTIMODAL}policies/globex/")
    response = viewer.post(
        f"{MULTIMODAL}policies/globex/",
        {
            "max_text_chars": "1",
            "max_artifact_bytes": "1",
            "max_timeout_seconds": "1",
            "allowed_modalities": ["text_to_speech"],
            "csrfmiddlewaretoken": token,
        },
        **bearer_header(),
    )
    assert response.status_code == 403
    policy = get_multimodal_service().get_policy(tenant_id=None, policy_tenant_id="globex")
    assert policy.max_artifact_bytes == 2_000_000
    assert policy.max_text_chars != 1


def test_read_only_staff_with_a_tenant_bearer_still_reads_as_read_only_staff(demo):
    viewer = csrf_client(make_user("viewer", staff=True))
    budget = globex_budget()
    detail = viewer.get(f"{HUB}{budget}/", **bearer_header())
    assert detail.status_code == 200
    page = detail.content.decode()
    assert 'id="controls-read-only"' in page and 'id="control-pause"' not in page
    policy = viewer.get(f"{MULTIMODAL}policies/globex/", **bearer_header())
    assert policy.status_code == 200
    assert 'id="policy-read-only"' in policy.content.decode()
    index = viewer.get("/admin/console/", **bearer_header())
    assert "read-only staff" in index.content.decode()
    # Reads stay operator reads across tenants, not narrowed to the token's tenant.
    hub = viewer.get(HUB, **bearer_header())
    assert {"acme", "globex"} <= {p.tenant_id for p in hub.context["snapshot"].processes}


def test_superuser_with_a_tenant_bearer_still_acts_as_the_superuser(demo):
    root = csrf_client(make_user("root", staff=True, superuser=True))
    budget = globex_budget()  # another tenant than the token's
    token = csrf_token(root, f"{HUB}{budget}/")
    response = root.post(
        f"{HUB}{budget}/control/",
        {"action": "pause", "reason": "operator review", "csrfmiddlewaretoken": token},
        # Even a narrow, read-only tenant token changes nothing for the session user.
        HTTP_AUTHORIZATION="Bearer "
        + issue_token(sub="acme-reader", scopes=["outcomes:read"], tenant_id="acme"),
        follow=True,
    )
    assert response.status_code == 200
    detail = response.context["process"]
    assert detail.status == "suspended"
    history = [(c.action, c.actor, c.reason) for c in detail.control_history]
    assert history[-1] == ("pause", "root", "operator review")


def test_an_invalid_bearer_header_does_not_lock_staff_out_of_the_console(demo):
    root = csrf_client(make_user("root", staff=True, superuser=True))
    response = root.get(HUB, HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert response.status_code == 200
    assert re.search(r"autonomy_budget: <strong>\d+</strong>", response.content.decode())
