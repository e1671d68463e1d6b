"""X-Forwarded-For is believed only from configured proxies: not from a loopback peer of the real server (which
let anyone on the host walk past rate limits and API-key IP allowlists), and only as far as the trusted hops go."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from gateway import cli
from gateway.api.proxies import ForwardedFor
from gateway.db.models import Role
from gateway.tls import ensure_self_signed
from tests.gateway.conftest import Member, World, make_world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path, db_url, rate_limit_ip="20/minute")


@pytest.fixture
def served(world: World, tmp_path: Path) -> Iterator[httpx.Client]:
    """The world's app behind the uvicorn configuration ``reponet gateway run`` uses, on a port of its own."""
    cert, key = ensure_self_signed(tmp_path / "tls", "127.0.0.1")
    config = cli.server_config(world.client.app, world.ctx.settings, host="127.0.0.1", port=0, cert=cert, key=key)
    config.lifespan = "off"  # the world's test client runs the app's lifespan already
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    client = httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=ssl.create_default_context(cafile=str(cert)))
    try:
        yield client
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=30)


def _api_key(member: Member, **extra: Any) -> str:
    body = {"kind": "api_key", "name": "sync", "scopes": ["wallets:read"], **extra}
    response = member.post("/v1/clients", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


def test_a_loopback_peer_cannot_claim_another_address(world: World, served: httpx.Client) -> None:
    approver = world.user("a", Role.MEMBER_ADMIN, "keys")
    key = _api_key(approver, ip_allowlist=["203.0.113.0/24"])
    spoofed = served.get("/v1/wallets", headers={"X-API-Key": key, "X-Forwarded-For": "203.0.113.9"})
    assert spoofed.status_code == 403  # the peer is 127.0.0.1, outside the allowlist, whatever the header says
    statuses = [served.get("/healthz", headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(30)]
    assert 429 in statuses  # one address, one budget


def _client_seen(world: World, peer: str, forwarded: str | None) -> str:
    app = ForwardedFor(lambda scope, receive, send: None, world.ctx.settings.trusted_proxies)  # type: ignore[arg-type,return-value]
    return app.client_of(peer, [h.strip() for h in forwarded.split(",")]) if forwarded else peer


@pytest.fixture
def proxied(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path, db_url, trusted_proxies=["10.0.0.0/8"])


def test_forwarded_addresses_are_believed_only_from_configured_proxies(proxied: World) -> None:
    world = proxied
    approver = world.user("a", Role.MEMBER_ADMIN, "keys")
    key = _api_key(approver, ip_allowlist=["203.0.113.0/24"])
    via_proxy = TestClient(world.client.app, base_url="https://gateway.test", client=("10.1.2.3", 40000))
    direct = TestClient(world.client.app, base_url="https://gateway.test", client=("198.51.100.7", 40000))
    headers = {"X-API-Key": key}
    assert via_proxy.get("/v1/wallets", headers={**headers, "X-Forwarded-For": "203.0.113.9"}).status_code == 200
    # A client that writes the header itself, through the proxy: the proxy appends the real address, which wins.
    forged = {**headers, "X-Forwarded-For": "203.0.113.9, 198.51.100.8"}
    assert via_proxy.get("/v1/wallets", headers=forged).status_code == 403
    # Not through a configured proxy: the header is ignored.
    assert direct.get("/v1/wallets", headers={**headers, "X-Forwarded-For": "203.0.113.9"}).status_code == 403
    # Hops through several trusted proxies are skipped; garbage stops the walk at the last trusted hop.
    assert _client_seen(world, "10.0.0.1", "203.0.113.9, 10.9.9.9") == "203.0.113.9"
    assert _client_seen(world, "10.0.0.1", "not-an-address, 10.9.9.9") == "10.9.9.9"
