"""Objects of organization A for the cross-organization authorization matrix (tests/gateway/api)."""

from __future__ import annotations

from tests.gateway.conftest import Cast, World


def webhook(world: World, cast: Cast, objects: dict[str, str]) -> str:
    response = cast.a_approver.post("/v1/webhooks", json={"url": "https://bank-a.example/hooks"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


OBJECTS = {"webhook_id": webhook}
