"""``/healthz``, ``/readyz`` and ``/metrics`` on the gateway app."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from tests.gateway.conftest import World


def test_healthz_answers(world: World) -> None:
    response = world.client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_checks_database_and_chain(world: World) -> None:
    response = world.client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] and body["checks"]["chain"]["ok"]


def test_readyz_is_503_when_the_database_is_gone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world.ctx, "engine", sa.create_engine("sqlite:////nonexistent/dir/gateway.db"))
    response = world.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["ok"] is False


def test_metrics_count_requests_by_route_template(world: World) -> None:
    world.client.get("/healthz")
    world.client.get("/v1/organizations/00000000-0000-0000-0000-000000000000")
    text = world.client.get("/metrics").text
    assert "reponet_gateway_http_requests_total" in text
    assert 'route="/healthz"' in text and 'status="200"' in text
    assert 'route="/v1/organizations/{org_id}",status="401"' in text  # the whole template, as a scraper would query it
    assert "00000000-0000-0000-0000-000000000000" not in text
    assert "reponet_gateway_http_request_duration_seconds_bucket" in text


def test_readyz_checks_the_broker_when_one_is_configured(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A replica that cannot reach Redis (its event stream, its shared rate limits) is not ready: 503."""
    from tests.scale.stack import redis_or_skip

    assert "broker" not in world.client.get("/readyz").json()["checks"]  # none configured: not checked
    monkeypatch.setattr(world.ctx.settings, "broker_url", redis_or_skip())
    up = world.client.get("/readyz")
    assert up.status_code == 200 and up.json()["checks"]["broker"]["ok"] is True, up.text
    with socket.socket() as sock:  # a port nothing listens on: Redis down
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(world.ctx.settings, "broker_url", f"redis://127.0.0.1:{port}/0")
    down = world.client.get("/readyz")
    assert down.status_code == 503 and down.json()["checks"]["broker"]["ok"] is False, down.text
    assert down.json()["instance"]


def test_readyz_names_the_instance(world: World) -> None:
    assert world.client.get("/readyz").json()["instance"]  # host:pid unless named
