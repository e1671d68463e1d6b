"""/v1/stream: a foreign Origin and a missing or bad token are refused; an organization sees only its events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.websockets import WebSocketDisconnect

from gateway.db.models import Role
from gateway.events.bus import EventBus
from tests.gateway.conftest import World
from tests.gateway.market import hub_of, market_world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from market_world(tmp_path, db_url)


def test_foreign_origin_is_refused(world: World) -> None:
    a = world.user("a", Role.VIEWER, "av")
    with pytest.raises(WebSocketDisconnect) as refused:
        with world.client.websocket_connect("/v1/stream", headers={**a.headers, "origin": "https://evil.example"}):
            pass
    assert refused.value.code == 1008


def test_unauthenticated_is_refused(world: World) -> None:
    with world.client.websocket_connect("/v1/stream") as ws:
        ws.send_json({"token": "not-a-token"})
        with pytest.raises(WebSocketDisconnect) as refused:
            ws.receive_json()
    assert refused.value.code == 1008


def test_each_organization_sees_only_its_own_events(world: World) -> None:
    hub = hub_of(world)
    hub.bus = EventBus()
    a, b = world.user("a", Role.VIEWER, "av"), world.user("b", Role.VIEWER, "bv")
    with (
        world.client.websocket_connect("/v1/stream", headers=a.headers) as ws_a,
        world.client.websocket_connect("/v1/stream") as ws_b,
    ):
        ws_b.send_json({"token": b.tokens["access_token"]})  # the token as the first message works too
        assert ws_a.receive_json()["type"] == "subscribed" and ws_b.receive_json()["type"] == "subscribed"
        hub.bus.publish({"id": 1, "type": "repo.RepoOpened", "repo_id": 7}, {world.orgs["a"]})
        hub.bus.publish({"id": 2, "type": "repo.RepoOpened", "repo_id": 8}, {world.orgs["b"]})
        hub.bus.publish({"id": 3, "type": "repo.MarginCalled", "repo_id": 7}, {world.orgs["a"], world.orgs["b"]})
        assert [ws_a.receive_json()["id"], ws_a.receive_json()["id"]] == [1, 3]
        assert [ws_b.receive_json()["id"], ws_b.receive_json()["id"]] == [2, 3]
