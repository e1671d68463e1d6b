"""Live risk on the stream: the risk service's snapshot reaches the member's WebSocket stream as ``risk.exposure``
(only that member's, only from a ``risk:act`` key, only when it changed) in the shape docs/asyncapi.json
declares, with the service's gauges set; a stress run's totals follow as ``risk.stress``. Both go through the
risk messages' tail (gateway.risk.messages), run here a tick at a time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from gateway.db.models import Role
from gateway.events.bus import EventBus
from gateway.risk.live import Snapshots, show
from gateway.risk.messages import RiskTail
from tests.gateway.conftest import Cast, World
from tests.gateway.market import hub_of

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


def _declared(message: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(DOC.read_text())["components"]["messages"][message]["payload"]
    return payload


def _key(cast: Cast, scopes: list[str]) -> str:
    client = cast.a_admin.post("/v1/clients", json={"kind": "api_key", "name": "risk", "scopes": scopes})
    assert client.status_code == 201, client.text
    return str(client.json()["secret"])


SNAPSHOT = {
    "pairs": [{"counterparty_id": "00000000-0000-0000-0000-0000000000b0", "net": "-125", "repos": 2}],
    "calls_due": [7],
    "cure_deadlines": [{"repo_id": 7, "deadline": 1_900_000_000}],
}


def test_a_snapshot_reaches_only_the_members_stream(world: World, cast: Cast) -> None:
    bus = hub_of(world).bus = EventBus()
    tail = RiskTail(world.ctx.read_sessions, bus)
    risk_key, reader_key = _key(cast, ["repos:read", "risk:act"]), _key(cast, ["repos:read"])
    b = world.user("b", Role.VIEWER, "bv")
    assert world.client.post("/v1/risk/exposure", json=SNAPSHOT, headers={"X-API-Key": reader_key}).status_code == 403
    with (
        world.client.websocket_connect("/v1/stream", headers=cast.a_viewer.headers) as ws_a,
        world.client.websocket_connect("/v1/stream", headers=b.headers) as ws_b,
    ):
        assert ws_a.receive_json()["type"] == "subscribed" and ws_b.receive_json()["type"] == "subscribed"
        seen = Snapshots()
        show(world.client, risk_key, "a", SNAPSHOT, seen)
        show(world.client, risk_key, "a", SNAPSHOT, seen)  # unchanged: not posted again
        assert tail.run_once() == 1
        bus.publish({"id": 5, "type": "repo.MarginCalled", "repo_id": 7}, {world.orgs["a"], world.orgs["b"]})
        got = ws_a.receive_json()
        assert got["type"] == "risk.exposure" and got["id"] is None
        assert got["organization_id"] == str(world.orgs["a"]) and got["calls_due"] == [7]
        declared = _declared("riskExposure")
        assert set(got) == set(declared["properties"]) == set(declared["required"])
        assert ws_a.receive_json()["id"] == 5  # the second, unchanged snapshot was never sent
        assert ws_b.receive_json()["id"] == 5  # B never saw A's picture
    labels = {"member": "a"}
    assert REGISTRY.get_sample_value("reponet_risk_calls_outstanding", labels) == 1
    assert REGISTRY.get_sample_value("reponet_risk_next_cure_deadline_seconds", labels) == 1_900_000_000
    net = {"member": "a", "counterparty": "00000000-0000-0000-0000-0000000000b0"}
    assert REGISTRY.get_sample_value("reponet_risk_net_exposure_units", net) == -125


def test_a_stress_run_puts_its_totals_on_the_stream(world: World, cast: Cast) -> None:
    bus = hub_of(world).bus = EventBus()
    tail = RiskTail(world.ctx.read_sessions, bus)
    body = {"scenarios": [{"name": "all -10%", "shocks": [{"kind": "instrument", "target": "*", "bps": -1000}]}]}
    with world.client.websocket_connect("/v1/stream", headers=cast.a_viewer.headers) as ws:
        assert ws.receive_json()["type"] == "subscribed"
        answer = cast.a_viewer.post("/v1/risk/stress", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["scenarios"][0]["pairs"] == []  # no live repos yet
        assert tail.run_once() == 1
        got = ws.receive_json()
    assert got["type"] == "risk.stress" and got["scenarios"] == [{"name": "all -10%", "totals": []}]
    declared = _declared("riskStress")
    assert set(got) == set(declared["properties"]) == set(declared["required"])
