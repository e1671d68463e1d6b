"""Webhooks: Standard Webhooks signatures, retries with backoff and a delivery log, secret rotation with overlap."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from gateway.db.models import Organization
from gateway.events import webhooks
from gateway.events.models import WebhookDelivery, WebhookEndpoint
from tests.gateway.conftest import World


def event(n: int) -> dict[str, object]:
    return {"id": n, "type": "repo.RepoOpened", "repo_id": 1, "data": {}, "at": "2026-01-01T00:00:00Z"}


def setup(world: World, handler: httpx.MockTransport) -> tuple[webhooks.WebhookSender, uuid.UUID, str]:
    with world.ctx.sessions() as session:
        endpoint, secret = webhooks.create_endpoint(
            session,
            world.ctx.keys,
            organization_id=world.orgs["a"],
            url="https://member.example/hooks",
            event_types=None,
            actor="test",
        )
        endpoint_id = endpoint.id
    sender = webhooks.WebhookSender(
        world.ctx.sessions, world.ctx.keys, client=httpx.Client(transport=handler), base_backoff=0.0
    )
    return sender, endpoint_id, secret


def test_signed_retried_logged_and_rotated(world: World, tmp_path: Path) -> None:
    received: list[httpx.Request] = []
    answers = iter([500, 200, 200, 200])

    def handle(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(next(answers))

    sender, endpoint_id, secret = setup(world, httpx.MockTransport(handle))
    webhooks.enqueue_events(world.ctx.sessions, [(event(1), {world.orgs["a"]}), (event(2), {world.orgs["b"]})])
    assert sender.run_once() == 1  # B's event is not for A's endpoint
    assert sender.run_once() == 1  # retried (zero backoff in this test)
    with world.ctx.sessions() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == "delivered" and delivery.attempts == 2
    first = received[-1]
    headers = {k: v for k, v in first.headers.items()}
    assert webhooks.verify(secret, headers, first.content)
    assert not webhooks.verify(secret, headers, first.content + b"x")
    assert not webhooks.verify(webhooks.new_secret(), headers, first.content)

    with world.ctx.sessions() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        new = webhooks.rotate(session, world.ctx.keys, endpoint)
    webhooks.enqueue_events(world.ctx.sessions, [(event(3), {world.orgs["a"]})])
    assert sender.run_once() == 1
    rotated = received[-1]
    headers = {k: v for k, v in rotated.headers.items()}
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert webhooks.verify(new, headers, rotated.content) and webhooks.verify(secret, headers, rotated.content)
    with world.ctx.sessions.begin() as session:  # after the overlap only the new secret signs
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        endpoint.previous_valid_until = datetime.now(UTC) - timedelta(seconds=1)
    webhooks.enqueue_events(world.ctx.sessions, [(event(4), {world.orgs["a"]})])
    sender.run_once()
    headers = {k: v for k, v in received[-1].headers.items()}
    assert webhooks.verify(new, headers, received[-1].content)
    assert not webhooks.verify(secret, headers, received[-1].content)


def test_gives_up_after_max_attempts_with_backoff(world: World) -> None:
    sender, _, _ = setup(world, httpx.MockTransport(lambda r: httpx.Response(503)))
    sender.base_backoff = 1.0
    webhooks.enqueue_events(world.ctx.sessions, [(event(1), {world.orgs["a"]})])
    sender.run_once()
    with world.ctx.sessions() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        wait = delivery.next_attempt_at - datetime.now(UTC)
        assert delivery.status == "pending" and timedelta(seconds=0.5) < wait <= timedelta(seconds=1)
    assert sender.run_once() == 0  # not due yet
    for _ in range(webhooks.MAX_ATTEMPTS):
        with world.ctx.sessions.begin() as session:
            session.execute(WebhookDelivery.__table__.update().values(next_attempt_at=datetime.now(UTC)))
        sender.run_once()
    with world.ctx.sessions() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == "failed" and delivery.attempts == webhooks.MAX_ATTEMPTS
        assert delivery.last_status_code == 503
    assert Organization


def test_rotation_through_the_api_keeps_the_old_secret_for_a_day(world: World) -> None:
    from gateway.db.models import Role
    from tests.gateway.market import call

    approver = world.user("a", Role.APPROVER, "ap")
    created = call(approver, "/v1/webhooks", {"url": "https://member.example/hooks"})
    assert created.status_code == 201, created.text
    rotated = call(approver, f"/v1/webhooks/{created.json()['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != created.json()["secret"]
    with world.ctx.sessions() as session:
        endpoint = session.get(WebhookEndpoint, uuid.UUID(created.json()["id"]))
        assert endpoint is not None and endpoint.previous_secret_enc is not None
        assert endpoint.previous_valid_until is not None
        assert endpoint.previous_valid_until > datetime.now(UTC) + timedelta(hours=23)
    other = world.user("b", Role.APPROVER, "bp")
    assert call(other, f"/v1/webhooks/{created.json()['id']}/rotate").status_code == 404
    assert other.get(f"/v1/webhooks/{created.json()['id']}/deliveries").status_code == 404


def test_master_key_rotation_rewraps_webhook_secrets_before_retirement(world: World) -> None:
    """Webhook secrets are sealed under the master key: after rotation with retirement the sender still signs."""
    from gateway import key_rotation as rotation

    received: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    sender, endpoint_id, secret = setup(world, httpx.MockTransport(handle))
    with world.ctx.sessions() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        new = webhooks.rotate(session, world.ctx.keys, endpoint)  # a previous secret overlaps too
    with world.ctx.sessions() as session:
        rotation.rotate(world.ctx.keys, session, retire=True)
    assert world.ctx.keys.versions() == [2]
    webhooks.enqueue_events(world.ctx.sessions, [(event(1), {world.orgs["a"]})])
    assert sender.run_once() == 1
    headers = {k: v for k, v in received[-1].headers.items()}
    assert webhooks.verify(new, headers, received[-1].content)
    assert webhooks.verify(secret, headers, received[-1].content)
