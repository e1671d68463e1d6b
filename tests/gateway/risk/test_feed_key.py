"""The price feed's machine key: ``prices:feed`` alone, made on the gateway's host under an operator admin
(``reponet risk feed-grant``), written to the feed's config owner-only and rotated; it reads the manual entries
and nothing else; a member can neither be granted the scope through the clients API nor use it; the config
``reponet up`` writes is what the feed process reads."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from gateway.clients.schemas import ClientCreate
from gateway.clients.service import create_client
from gateway.db.models import ClientKind
from gateway.exceptions import PermissionDenied
from gateway.risk.feeds.cli import FeedConfig, sources_of, write_feed_config
from gateway.risk.feeds.grant import grant_feed
from tests.gateway.conftest import Cast, World


def test_grant_makes_a_key_that_may_feed_prices_and_nothing_else(world: World, cast: Cast, tmp_path: Path) -> None:
    config = write_feed_config(tmp_path / "risk", gateway_url="https://127.0.0.1:1", ca_file=tmp_path / "ca.pem")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    with world.ctx.sessions() as session:
        first = grant_feed(session, config_path=config, operator_email=cast.admin.user.email, days=30)
    key = {"X-API-Key": json.loads(config.read_text())["api_key"]}
    assert world.client.get("/v1/risk/feed/price-entries", headers=key).status_code == 200
    for path in ("/v1/risk/price-entries", "/v1/risk/repos", "/v1/instruments", "/v1/operator/prices/" + "0" * 32):
        assert world.client.get(path, headers=key).status_code == 403, path
    body = {"asset": "0x" + "11" * 20, "quote": "0x" + "22" * 20, "price_percent_of_par": "99"}
    assert world.client.post("/v1/operator/prices", json=body, headers=key).status_code == 403  # a person's door

    with world.ctx.sessions() as session:  # a second grant rotates: the old key stops working
        second = grant_feed(session, config_path=config, operator_email=cast.admin.user.email, days=30)
    assert second.revoked == first.client_id
    assert world.client.get("/v1/risk/feed/price-entries", headers=key).status_code == 401
    loaded = FeedConfig.read(config)
    assert loaded.guards.min_sources == 1 and loaded.csv_dirs == [str((tmp_path / "risk" / "prices").resolve())]
    assert [s.name for s in sources_of(loaded, world.client, {})] == ["csv:prices", "manual"]  # type: ignore[arg-type]


def test_only_an_operator_admin_grants_and_no_member_holds_the_scope(
    world: World, cast: Cast, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_feed_config(tmp_path, gateway_url="https://127.0.0.1:1", ca_file=tmp_path / "ca.pem")
    with world.ctx.sessions() as session, pytest.raises(PermissionDenied):
        grant_feed(session, config_path=config, operator_email=cast.a_admin.user.email, days=30)
    asked = cast.a_admin.post("/v1/clients", json={"kind": "api_key", "name": "f", "scopes": ["prices:feed"]})
    assert asked.status_code == 403, asked.text
    with world.ctx.sessions() as session, pytest.raises(PermissionDenied):  # the clients service refuses it too
        create_client(
            session,
            actor="test",
            organization_id=world.orgs["a"],
            user_id=cast.a_admin.id,
            data=ClientCreate(kind=ClientKind.API_KEY, name="f", scopes=["prices:feed"]),
        )
    monkeypatch.setattr("gateway.clients.service.OPERATOR_SCOPES", frozenset())
    with world.ctx.sessions() as session:  # and one made past that check is still refused by the feed's routes
        made = create_client(
            session,
            actor="test",
            organization_id=world.orgs["a"],
            user_id=cast.a_admin.id,
            data=ClientCreate(kind=ClientKind.API_KEY, name="f", scopes=["prices:feed"]),
        )
    answer = world.client.get("/v1/risk/feed/price-entries", headers={"X-API-Key": made.secret})
    assert answer.status_code == 403, answer.text
