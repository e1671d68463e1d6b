"""Webhooks cannot be turned inward: https to public addresses only, checked when connecting (DNS rebinding
included), delivery errors without internal detail, and endpoints that can be disabled and deleted."""

from __future__ import annotations

import http.server
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from gateway.db.models import AuditEntry, Role
from gateway.events import webhooks
from gateway.events.destinations import GuardedBackend, guarded_client
from gateway.events.models import WebhookDelivery, WebhookEndpoint
from gateway.exceptions import InvalidRequest
from tests.gateway.conftest import Member, World, make_settings
from tests.gateway.market import call


def event(n: int) -> dict[str, object]:
    return {"id": n, "type": "repo.RepoOpened", "repo_id": 1, "data": {}, "at": "2026-01-01T00:00:00Z"}


@pytest.fixture
def approver(world: World) -> Member:
    return world.user("a", Role.APPROVER, "hooks")


@pytest.mark.parametrize(
    "url",
    [
        "http://member.example/hooks",  # plain http
        "https://127.0.0.1:8545/",  # the node's JSON-RPC port
        "https://localhost/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "https://10.1.2.3/",
        "https://192.168.0.10/",
        "https://100.64.0.1/",  # shared address space
        "https://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
        "https://[fe80::1]/",
        "https://[64:ff9b::a00:1]/",  # NAT64 form of 10.0.0.1
        "https://[2002:a00:1::]/",  # 6to4 form of 10.0.0.1
        "https://0.0.0.0/",
        "https://user:secret@member.example/",
        "ftp://member.example/",
    ],
)
def test_inward_and_plain_http_urls_are_refused(approver: Member, url: str) -> None:
    response = call(approver, "/v1/webhooks", {"url": url})
    assert response.status_code in (400, 422), response.text


def test_a_public_https_url_is_accepted(approver: Member) -> None:
    assert call(approver, "/v1/webhooks", {"url": "https://member.example/hooks"}).status_code == 201


def _endpoint(world: World, url: str) -> uuid.UUID:
    with world.ctx.sessions() as session:
        endpoint, _ = webhooks.create_endpoint(
            session, world.ctx.keys, organization_id=world.orgs["a"], url=url, event_types=None, actor="test"
        )
        return endpoint.id


def _delivery(world: World) -> WebhookDelivery:
    with world.ctx.sessions() as session:
        return session.scalars(select(WebhookDelivery)).one()


def test_a_name_that_resolves_to_loopback_is_refused_when_connecting(world: World) -> None:
    """``127.1`` is not an address literal to a URL parser but resolves to 127.0.0.1: the check at connect time
    refuses it, and no connection reaches the listener."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        _endpoint(world, f"https://127.1:{port}/hooks")
        webhooks.enqueue_events(world.ctx.sessions, [(event(1), {world.orgs["a"]})])
        sender = webhooks.WebhookSender(world.ctx.sessions, world.ctx.keys, base_backoff=0.0)
        assert sender.run_once() == 1
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing connected
    delivery = _delivery(world)
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert delivery.last_error == webhooks.NOT_ALLOWED


def test_delivery_errors_say_nothing_of_why_a_connection_failed(world: World) -> None:
    def closed_port(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    _endpoint(world, "https://member.example/hooks")
    webhooks.enqueue_events(world.ctx.sessions, [(event(1), {world.orgs["a"]})])
    sender = webhooks.WebhookSender(
        world.ctx.sessions, world.ctx.keys, client=httpx.Client(transport=httpx.MockTransport(closed_port))
    )
    sender.run_once()
    error = _delivery(world).last_error
    assert error is not None and "refused" not in error.lower() and "errno" not in error.lower()
    assert error == webhooks.NOT_DELIVERED


class _Recorder(httpcore.NetworkBackend):
    """Stands in for the operating system's connect: records where the connection would go."""

    def __init__(self) -> None:
        self.connected: list[str] = []

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        self.connected.append(host)
        raise httpcore.ConnectError("recorded")


def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    """DNS rebinding: a name that is public when checked and loopback a moment later. It is resolved once."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"], ["127.0.0.1"]])
    asked: list[str] = []

    def rebinding(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers)]

    recorder = _Recorder()
    client = guarded_client(allow_loopback=False, resolve=rebinding, inner=recorder)
    with pytest.raises(httpx.ConnectError):
        client.post("https://rebind.member.example/hooks", content=b"{}")
    assert asked == ["rebind.member.example"] and recorder.connected == ["93.184.215.14"]


def test_a_name_with_any_inward_address_is_refused() -> None:
    def mixed(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in ("93.184.215.14", "10.0.0.7")]

    recorder = _Recorder()
    backend = GuardedBackend(allow_loopback=False, resolve=mixed, inner=recorder)
    with pytest.raises(httpcore.ConnectError, match=r"10\.0\.0\.7"):
        backend.connect_tcp("mixed.member.example", 443)
    assert recorder.connected == []


def test_endpoints_stored_with_plain_http_are_not_delivered_to(world: World) -> None:
    with world.ctx.sessions.begin() as session:
        endpoint = session.get(WebhookEndpoint, _endpoint(world, "https://member.example/hooks"))
        assert endpoint is not None
        endpoint.url = "http://member.example/hooks"  # stored before the rules
    seen: list[httpx.Request] = []
    webhooks.enqueue_events(world.ctx.sessions, [(event(1), {world.orgs["a"]})])
    sender = webhooks.WebhookSender(
        world.ctx.sessions,
        world.ctx.keys,
        client=httpx.Client(transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200))),
    )
    sender.run_once()
    assert seen == [] and _delivery(world).last_error == webhooks.NOT_ALLOWED


class _Hooks(http.server.BaseHTTPRequestHandler):
    received: list[str]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.received.append(self.headers["host"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_receiver() -> Iterator[tuple[int, list[str]]]:
    received: list[str] = []
    handler = type("Handler", (_Hooks,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


def test_loopback_only_in_development_when_switched_on(
    world: World, local_receiver: tuple[int, list[str]], tmp_path: Path
) -> None:
    port, received = local_receiver
    with world.ctx.sessions() as session:
        with pytest.raises(InvalidRequest):
            webhooks.create_endpoint(
                session,
                world.ctx.keys,
                organization_id=world.orgs["a"],
                url=f"http://127.0.0.1:{port}/hooks",
                event_types=None,
                actor="test",
            )
        webhooks.create_endpoint(
            session,
            world.ctx.keys,
            organization_id=world.orgs["a"],
            url=f"http://localhost:{port}/hooks",
            event_types=None,
            actor="test",
            allow_loopback=True,
        )
    webhooks.enqueue_events(world.ctx.sessions, [(event(1), {world.orgs["a"]})])
    sender = webhooks.WebhookSender(world.ctx.sessions, world.ctx.keys, allow_loopback=True)
    assert sender.run_once() == 1
    assert _delivery(world).status == "delivered" and received == [f"localhost:{port}"]
    with pytest.raises(ValidationError, match="development only"):
        make_settings(tmp_path, "sqlite://", webhook_allow_loopback=True)  # the test environment is not development


def test_webhooks_can_be_disabled_enabled_and_deleted(world: World, approver: Member) -> None:
    created = call(approver, "/v1/webhooks", {"url": "https://member.example/hooks"})
    webhook_id = created.json()["id"]
    seen: list[httpx.Request] = []
    sender = webhooks.WebhookSender(
        world.ctx.sessions,
        world.ctx.keys,
        client=httpx.Client(transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200))),
    )
    webhooks.enqueue_events(world.ctx.sessions, [(event(1), {world.orgs["a"]})])  # queued while enabled
    disabled = call(approver, f"/v1/webhooks/{webhook_id}/disable")
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    webhooks.enqueue_events(world.ctx.sessions, [(event(2), {world.orgs["a"]})])  # not queued while disabled
    assert sender.run_once() == 0 and seen == []
    assert call(approver, f"/v1/webhooks/{webhook_id}/enable").json()["is_active"] is True
    assert sender.run_once() == 1 and len(seen) == 1

    other = world.user("b", Role.APPROVER, "other")
    assert other.client.delete(f"/v1/webhooks/{webhook_id}", headers=other.headers).status_code == 404
    assert call(other, f"/v1/webhooks/{webhook_id}/disable").status_code == 404
    deleted = approver.client.delete(f"/v1/webhooks/{webhook_id}", headers=approver.headers)
    assert deleted.status_code == 204, deleted.text
    assert approver.get("/v1/webhooks").json() == {"data": [], "next_cursor": None}
    assert approver.get(f"/v1/webhooks/{webhook_id}/deliveries").status_code == 404
    with world.ctx.sessions() as session:
        assert session.scalars(select(WebhookDelivery)).all() == []
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"webhook.created", "webhook.disabled", "webhook.enabled", "webhook.deleted"} <= actions
