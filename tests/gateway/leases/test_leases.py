"""The service lease through the API: the first holder gets token 1 and renews it; another instance is refused
while it is live; once it lapses the other takes it with token 2; the old leader's alert carrying token 1 is refused
(409) and the new one's accepted; release hands it on at once; the risk and feed keys' leases are their own; the
client helper stands by, leads, and notices the takeover."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from gateway.db.models import utcnow
from gateway.leases.client import Lease, LeaseGroup
from gateway.leases.models import ServiceLease
from gateway.risk.feeds.cli import write_feed_config
from gateway.risk.feeds.grant import grant_feed
from tests.gateway.conftest import Cast, Member, World, make_world
from tests.gateway.surveillance.test_cases import alert, service_key


@pytest.fixture
def world(tmp_path: Path, any_db_url: str) -> Iterator[World]:
    """Leases are what several replicas share on PostgreSQL: every test here runs on SQLite and on PostgreSQL."""
    yield from make_world(tmp_path, any_db_url)


def lapse(world: World, kind: str) -> None:
    """The holder's TTL has passed (as if it had been killed), without waiting for it."""
    with world.ctx.sessions() as session:
        session.execute(
            update(ServiceLease).where(ServiceLease.kind == kind).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()


def test_acquire_renew_expiry_takeover_and_a_stale_token_refused(world: World, cast: Cast, tmp_path: Path) -> None:
    key = service_key(world, cast, tmp_path)
    take = lambda holder: world.client.post(  # noqa: E731
        "/v1/leases/surveillance", json={"holder": holder, "ttl_seconds": 3}, headers=key
    )
    first = take("one")
    assert first.status_code == 200 and first.json()["token"] == 1, first.text
    assert take("one").json()["token"] == 1  # renewed, same token
    refused = take("two")
    assert refused.status_code == 409 and "lease-held" in refused.json()["type"], refused.text

    lapse(world, "surveillance")
    second = take("two")
    assert second.status_code == 200 and second.json()["token"] == 2
    assert take("one").status_code == 409  # the old leader cannot renew: it must step down

    stale = world.client.post("/v1/surveillance/alerts", json=alert(), headers={**key, "X-Lease-Token": "1"})
    assert stale.status_code == 409 and "stale-lease" in stale.json()["type"], stale.text
    fresh = world.client.post("/v1/surveillance/alerts", json=alert(), headers={**key, "X-Lease-Token": "2"})
    assert fresh.status_code == 201, fresh.text
    assert world.client.post("/v1/surveillance/alerts", json=alert(), headers=key).status_code == 201  # unfenced

    assert world.client.delete("/v1/leases/surveillance", params={"holder": "two"}, headers=key).status_code == 204
    third = take("one")
    assert third.status_code == 200 and third.json()["token"] == 3  # released: taken at once, token up


def test_leases_are_per_kind_and_need_the_kinds_permission(world: World, cast: Cast, tmp_path: Path) -> None:
    key = service_key(world, cast, tmp_path)
    assert world.client.post("/v1/leases/surveillance", json={"holder": "s"}, headers=key).status_code == 200
    assert world.client.post("/v1/leases/risk", json={"holder": "s"}, headers=key).status_code == 403
    assert world.client.post("/v1/leases/price-feed", json={"holder": "s"}, headers=key).status_code == 403
    reader = {
        "X-API-Key": cast.a_admin.post(
            "/v1/clients", json={"kind": "api_key", "name": "r", "scopes": ["trades:read"]}
        ).json()["secret"]
    }
    assert world.client.post("/v1/leases/surveillance", json={"holder": "x"}, headers=reader).status_code == 403


def test_the_client_stands_by_leads_and_sees_the_takeover(world: World, cast: Cast, tmp_path: Path) -> None:
    key = service_key(world, cast, tmp_path)["X-API-Key"]
    http: httpx.Client = world.client
    one = Lease(http, "surveillance", lambda: key, holder="one")
    two = Lease(http, "surveillance", lambda: key, holder="two")
    assert one.try_acquire() and one.headers() == {"X-Lease-Token": "1"}
    assert not two.try_acquire() and two.headers() == {}  # a standby sends no token: it writes nothing
    lapse(world, "surveillance")
    assert two.try_acquire() and two.headers() == {"X-Lease-Token": "2"}
    assert not one.try_acquire() and one.refused  # its renewal is refused: it steps down
    two.release()
    assert (
        world.client.post("/v1/leases/surveillance", json={"holder": "three"}, headers={"X-API-Key": key}).json()[
            "token"
        ]
        == 3
    )


def test_the_feeds_stale_token_is_refused_before_its_price_is_looked_at(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    config = write_feed_config(tmp_path / "risk", gateway_url="https://127.0.0.1:1", ca_file=tmp_path / "ca.pem")
    with world.ctx.sessions() as session:
        grant_feed(session, config_path=config, operator_email=cast.admin.user.email, days=30)
    key = {"X-API-Key": json.loads(config.read_text())["api_key"]}
    for holder in ("f1", "f2"):
        lapse(world, "price-feed")
        assert world.client.post("/v1/leases/price-feed", json={"holder": holder}, headers=key).status_code == 200
    body = {"asset": "0x" + "11" * 20, "quote": "0x" + "22" * 20, "price_percent_of_par": "99"}
    stale = world.client.post("/v1/risk/feed/prices", json=body, headers={**key, "X-Lease-Token": "1"})
    assert stale.status_code == 409 and "stale-lease" in stale.json()["type"], stale.text
    current = world.client.post("/v1/risk/feed/prices", json=body, headers={**key, "X-Lease-Token": "2"})
    assert current.status_code != 409, current.text  # past the fence (the unlisted pair is refused further on)


def test_the_risk_services_leases_are_taken_in_order_so_two_instances_never_split_them(
    world: World, cast: Cast
) -> None:
    def risk_key(member: Member) -> str:
        made = member.post("/v1/clients", json={"kind": "api_key", "name": "risk", "scopes": ["risk:act"]})
        assert made.status_code == 201, made.text
        return str(made.json()["secret"])

    keys = {"a": risk_key(cast.a_admin), "b": risk_key(cast.b_admin)}
    http: httpx.Client = world.client

    def group(holder: str) -> LeaseGroup:
        return LeaseGroup({n: Lease(http, "risk", lambda k=k: k, holder=holder) for n, k in keys.items()})

    one, two = group("one"), group("two")
    assert one.leases["a"].try_acquire()  # one took the first member's lease only
    assert not two._all()  # refused the first: two does not go on to take the second
    assert two.headers("b") == {} and one._all()  # so one takes the rest and leads
    assert one.headers("a") == {"X-Lease-Token": "1"} and one.headers("b") == {"X-Lease-Token": "1"}
    one.release()
    assert two._all() and two.headers("a") == {"X-Lease-Token": "2"}
