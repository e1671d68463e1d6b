"""A stream ends with its session: logout, token expiry, deactivation of its user, revocation of its client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from gateway.access.tokens import issue_access_token
from gateway.db.models import Role
from gateway.events.bus import EventBus
from tests.gateway.conftest import Member, World
from tests.gateway.market import hub_of, market_world

pytestmark = pytest.mark.timeout(60)  # a stream that outlives its session would otherwise wait for ever


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from market_world(tmp_path, db_url, stream_session_check_seconds=0.05)


@pytest.fixture
def bus(world: World) -> EventBus:
    hub = hub_of(world)
    hub.bus = EventBus()
    return hub.bus


def _subscribed(ws: WebSocketTestSession) -> None:
    assert ws.receive_json()["type"] == "subscribed"


def _ended(ws: WebSocketTestSession) -> int:
    """Waits for the server to close the stream; returns the close code (an event instead fails the test)."""
    with pytest.raises(WebSocketDisconnect) as closed:
        message: Any = ws.receive_json()
        pytest.fail(f"the stream went on after its session ended: {message}")
    return closed.value.code


def test_logout_ends_the_stream_before_the_next_event(tmp_path: Path, db_url: str) -> None:
    for world in market_world(tmp_path, db_url, stream_session_check_seconds=3600):  # only the per-event check
        bus = hub_of(world).bus = EventBus()
        member = world.user("a", Role.VIEWER, "streamer")
        with world.client.websocket_connect("/v1/stream", headers=member.headers) as ws:
            _subscribed(ws)
            assert member.post("/v1/auth/logout").status_code == 204
            bus.publish({"id": 1, "type": "repo.MarginCalled", "repo_id": 7}, {world.orgs["a"]})
            assert _ended(ws) == 1008


def test_an_idle_stream_ends_when_its_user_is_deactivated(world: World, bus: EventBus) -> None:
    admin = world.user("a", Role.MEMBER_ADMIN, "admin")
    member = world.user("a", Role.TRADER, "leaver")
    with world.client.websocket_connect("/v1/stream", headers=member.headers) as ws:
        _subscribed(ws)
        path = f"/v1/organizations/{world.orgs['a']}/users/{member.id}/deactivate"
        assert admin.post(path).status_code == 200
        assert _ended(ws) == 1008


def test_the_stream_ends_when_its_token_expires(tmp_path: Path, db_url: str) -> None:
    for world in market_world(tmp_path, db_url, stream_session_check_seconds=3600):
        hub_of(world).bus = EventBus()
        member: Member = world.user("a", Role.VIEWER, "brief")
        login_session = jwt.decode(member.tokens["access_token"], options={"verify_signature": False})["sid"]
        lifetime = 1
        while True:  # a token short enough to expire while streaming, long enough to subscribe on a busy machine
            token, _ = issue_access_token(
                world.ctx.settings,
                subject=str(member.id),
                kind="user",
                organization_id=str(world.orgs["a"]),
                session_id=login_session,
                lifetime=lifetime,
            )
            with world.client.websocket_connect("/v1/stream", headers={"Authorization": f"Bearer {token}"}) as ws:
                try:
                    _subscribed(ws)
                except WebSocketDisconnect:
                    lifetime *= 2  # expired before it was checked: try a longer one
                    continue
                assert _ended(ws) == 1008  # at the token's expiry, not at the next hourly check
                return


def test_a_revoked_client_loses_its_stream(world: World, bus: EventBus) -> None:
    approver = world.user("a", Role.MEMBER_ADMIN, "integrator")
    created = approver.post(
        "/v1/clients", json={"kind": "oauth_client", "name": "stream", "scopes": ["events:read"]}
    ).json()
    token = world.client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": created["id"], "client_secret": created["secret"]},
    ).json()["access_token"]
    with world.client.websocket_connect("/v1/stream", headers={"Authorization": f"Bearer {token}"}) as ws:
        _subscribed(ws)
        assert approver.post(f"/v1/clients/{created['id']}/revoke").status_code in (200, 204)
        assert _ended(ws) == 1008


def test_a_live_session_keeps_streaming(world: World, bus: EventBus) -> None:
    member = world.user("b", Role.VIEWER, "stays")
    with world.client.websocket_connect("/v1/stream", headers=member.headers) as ws:
        _subscribed(ws)
        bus.publish({"id": 5, "type": "repo.RepoOpened", "repo_id": 9}, {world.orgs["b"]})
        assert ws.receive_json()["id"] == 5
