"""``/healthz``, ``/readyz`` and ``/metrics`` on the gateway app."""

from __future__ import annotations

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
    assert '/organizations/{org_id}",status="401"' in text
    assert "00000000-0000-0000-0000-000000000000" not in text
    assert "reponet_gateway_http_request_duration_seconds_bucket" in text
