"""Agreements through the API: a member proposes, only the counterparty can make terms effective, a new version
supersedes the old, a third member sees nothing; the risk service's margin call needs the ``risk:act`` scope and
the lender's standing instruction under the pair's effective agreement."""

from __future__ import annotations

import uuid
from typing import Any

from gateway.db.models import Role
from tests.gateway.conftest import Cast, World
from tests.gateway.market import call, list_instrument

CASH = "0x" + "11" * 20


def _terms(world: World, **overrides: Any) -> dict[str, Any]:
    body = {
        "counterparty_id": str(world.orgs["b"]),
        "base_currency": CASH,
        "threshold": "1000.00",
        "minimum_transfer": "250.50",
        "rounding": "100",
        "method": "B",
        "cure_period_seconds": 3600,
        "auto_call": True,
    }
    body.update(overrides)
    return body


def test_terms_take_effect_only_when_the_counterparty_approves(world: World, cast: Cast) -> None:
    list_instrument(world, CASH, "cash", 2, "EURt")
    proposed = call(cast.a_approver, "/v1/risk/agreements", _terms(world))
    assert proposed.status_code == 201, proposed.text
    v1 = proposed.json()
    assert (v1["status"], v1["version"], v1["threshold"], v1["minimum_transfer"]) == (
        "proposed",
        1,
        "1000.00",
        "250.50",
    )

    # the proposer cannot approve its own terms; a trader cannot approve at all
    assert call(cast.a_approver, f"/v1/risk/agreements/{v1['id']}/approve", {}).status_code == 403
    assert call(cast.b_trader, f"/v1/risk/agreements/{v1['id']}/approve", {}).status_code == 403
    approved = call(cast.b_approver, f"/v1/risk/agreements/{v1['id']}/approve", {"auto_call": False})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "effective"
    assert call(cast.b_approver, f"/v1/risk/agreements/{v1['id']}/approve", {}).status_code == 409

    v2 = call(cast.b_approver, "/v1/risk/agreements", _terms(world, counterparty_id=str(world.orgs["a"]))).json()
    assert v2["version"] == 2 and v2["status"] == "proposed"
    assert call(cast.a_approver, f"/v1/risk/agreements/{v2['id']}/approve", {"auto_call": True}).status_code == 200
    statuses = {a["version"]: a["status"] for a in cast.a_viewer.get("/v1/risk/agreements").json()["data"]}
    assert statuses == {1: "superseded", 2: "effective"}

    world.org("c", name="Other C")
    c_viewer = world.user("c", Role.VIEWER, "viewer")
    assert c_viewer.get("/v1/risk/agreements").json()["data"] == []
    assert c_viewer.get(f"/v1/risk/agreements/{v2['id']}").status_code == 404


def test_terms_are_validated(world: World, cast: Cast) -> None:
    list_instrument(world, CASH, "cash", 2, "EURt")
    assert call(cast.a_approver, "/v1/risk/agreements", _terms(world, threshold="1.001")).status_code == 400
    own = _terms(world, counterparty_id=str(world.orgs["a"]))
    assert call(cast.a_approver, "/v1/risk/agreements", own).status_code == 400
    unlisted = _terms(world, base_currency="0x" + "22" * 20)
    assert call(cast.a_approver, "/v1/risk/agreements", unlisted).status_code == 400


def _key(cast: Cast, scopes: list[str]) -> dict[str, str]:
    client = cast.a_admin.post("/v1/clients", json={"kind": "api_key", "name": "risk", "scopes": scopes})
    assert client.status_code == 201, client.text
    return {"X-API-Key": client.json()["secret"], "Idempotency-Key": uuid.uuid4().hex}


def test_risk_margin_call_needs_the_scope_and_a_standing_instruction(world: World, cast: Cast) -> None:
    list_instrument(world, CASH, "cash", 2, "EURt")
    body = {"repo_id": 1, "agreement_id": str(uuid.uuid4()), "call_amount": "1"}
    reader = _key(cast, ["repos:read"])
    assert world.client.post("/v1/risk/margin-calls", json=body, headers=reader).status_code == 403
    actor = _key(cast, ["repos:read", "risk:act"])
    # a repo the member does not hold: not found, whatever the agreement
    assert world.client.post("/v1/risk/margin-calls", json=body, headers=actor).status_code == 404
    # people never hold risk:act: a trader's own call goes through /v1/repos/{id}/margin-call
    assert call(cast.a_trader, "/v1/risk/margin-calls", body).status_code == 403
    assert world.client.get("/v1/risk/repos", headers=actor).json()["data"] == []
