"""RFQs and quotes raise events on the WebSocket stream and by webhook, to the organizations concerned only: the
requester and the lender it asked see the request, the quote and the acceptance; a third member, not asked, sees
none of them on its stream and gets no webhook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.db.models import Role
from gateway.events import webhooks
from gateway.events.bus import EventBus
from gateway.events.models import WebhookDelivery
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, call, custodial_wallet, hub_of, list_instrument, market_world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        w.org("c", name="Fund C")
        yield w


def _webhook(world: World, org_key: str) -> None:
    with world.ctx.sessions() as session:
        webhooks.create_endpoint(
            session,
            world.ctx.keys,
            organization_id=world.orgs[org_key],
            url=f"https://{org_key}.example/hooks",
            event_types=None,
            actor="test",
        )


def _delivered(world: World, org_key: str) -> list[str]:
    from gateway.events.models import WebhookEndpoint

    with world.ctx.sessions() as session:
        rows = session.scalars(
            select(WebhookDelivery.event_type)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookEndpoint.organization_id == world.orgs[org_key])
        )
        return sorted(rows)


def test_rfq_quote_and_acceptance_reach_only_the_parties(world: World) -> None:
    hub = hub_of(world)
    hub.bus = EventBus()
    a, b, c = (world.user(k, Role.TRADER, f"{k}t") for k in ("a", "b", "c"))
    a_wallet, b_wallet = custodial_wallet(a), custodial_wallet(b)
    for key in ("a", "b", "c"):
        _webhook(world, key)
    with (
        world.client.websocket_connect("/v1/stream", headers=b.headers) as ws_b,
        world.client.websocket_connect("/v1/stream", headers=c.headers) as ws_c,
    ):
        assert ws_b.receive_json()["type"] == "subscribed" and ws_c.receive_json()["type"] == "subscribed"
        rfq = call(
            a,
            "/v1/rfqs",
            json={
                "seller_wallet_id": a_wallet["id"],
                "cash_token": CASH,
                "collateral_token": BOND,
                "purchase_price": "1000",
                "collateral_amount": "1100",
                "tenor_seconds": 3600,
                "lenders": [str(world.orgs["b"])],
            },
        )
        assert rfq.status_code == 201, rfq.text
        rfq_id = rfq.json()["id"]
        created = ws_b.receive_json()
        assert created["type"] == "rfq.created" and created["data"]["rfq_id"] == rfq_id
        quote = call(
            b, f"/v1/rfqs/{rfq_id}/quotes", json={"buyer_wallet_id": b_wallet["id"], "rate": "0.03", "haircut_bps": 200}
        )
        assert quote.status_code == 201, quote.text
        quoted = ws_b.receive_json()
        assert quoted["type"] == "quote.submitted" and quoted["data"]["quote_id"] == quote.json()["id"]
        accepted = call(a, f"/v1/rfqs/{rfq_id}/accept", json={"quote_id": quote.json()["id"]})
        assert accepted.status_code == 201, accepted.text
        done = ws_b.receive_json()
        assert done["type"] == "rfq.accepted" and done["data"]["trade_id"] == accepted.json()["id"]
        # a sentinel to both: C's first message after subscribing is it, so it saw none of the market's
        hub.bus.publish({"id": 99, "type": "repo.RepoOpened", "repo_id": 1}, {world.orgs["b"], world.orgs["c"]})
        assert ws_b.receive_json()["id"] == 99
        assert ws_c.receive_json()["id"] == 99
    expected = sorted(["rfq.created", "quote.submitted", "rfq.accepted"])
    assert _delivered(world, "a") == expected
    assert _delivered(world, "b") == expected
    assert _delivered(world, "c") == []
