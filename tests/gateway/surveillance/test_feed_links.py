"""The feed links a repo's open to its close: the open, once final, is audited under the repo id (``repo.opened``),
as a repurchase is, and the feed gives both the repo and its trade's parties, so the service's rapid open-and-close
rule sees the pair."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.db import audit_log
from gateway.db.models import Role
from gateway.settlement.service import on_open_final
from gateway.settlement_records.models import ChainStep
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.surveillance import feed
from gateway.surveillance.case_schemas import FeedItemPublic
from gateway.surveillance.scorer import Scorer, configured_event_rules
from gateway.trading.models import Trade
from tests.gateway.conftest import World, application_body
from tests.gateway.market import BOND, CASH, ENGINE, call, list_instrument, market_world, step_up
from tests.gateway.surveillance.test_scorer import item as trade_item
from tests.gateway.trading.test_trading_policy import agreed_trade


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


class OpenedMarket:
    """The two answers ``on_open_final`` asks of the chain: the open's receipt and the repo id it announced."""

    def receipt(self, tx_hash: str) -> dict[str, Any]:
        return {"transactionHash": tx_hash}

    def opened_repo_id(self, receipt: dict[str, Any]) -> int:
        return 42


def test_an_open_and_its_repurchase_carry_the_repo_and_its_parties(world: World) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    trade, _ = agreed_trade(world, a, b)
    with world.ctx.sessions() as session:
        settlement = enqueue(
            session,
            kind="open",
            requested_by="test",
            steps=[StepSpec(label="open", to=ENGINE, data="0x", sender=ENGINE)],
            trade_id=uuid.UUID(trade["id"]),
        )
        step = session.scalars(select(ChainStep).where(ChainStep.settlement_id == settlement.id)).one()
        step.tx_hash = "0x" + "ab" * 32
        on_open_final(session, settlement, [step], OpenedMarket())  # type: ignore[arg-type]
        audit_log.append(
            session, actor="user:x", action="repo.repurchase", object_type="repo", object_id="42", change={}
        )
        session.commit()
        stored = session.get(Trade, uuid.UUID(trade["id"]))
        assert stored is not None and stored.repo_id == 42
        items = [i for i in feed.items(session, after=0, limit=500) if i.object_type == "repo"]
    assert [i.action for i in items] == ["repo.opened", "repo.repurchase"]
    links = {(i.repo.repo_id, i.repo.trade_id, i.repo.seller_org, i.repo.buyer_org) for i in items if i.repo}
    assert links == {(42, trade["id"], str(world.orgs["a"]), str(world.orgs["b"]))}
    wire = [FeedItemPublic.model_validate(i).model_dump(mode="json") for i in items]  # as the route answers
    assert [w["repo"]["repo_id"] for w in wire] == [42, 42] and wire[0]["organization_id"] is None
    # the service, told that one rapid open-and-close is enough, alerts the seller on this pair
    scorer = Scorer(rules=[], event_rules=configured_event_rules({"rapid_open_close": {"min_count": 1}}))
    alerts = [alert for item in wire for alert in scorer.handle(item)]
    assert [(x.detector, x.organization_id) for x in alerts] == [("rapid_open_close", str(world.orgs["a"]))]


def test_a_renewed_approval_names_its_member_and_clears_kyc_lapsed(world: World) -> None:
    """A's KYC expired; A applies again and an officer approves: the approval (on the application) carries A's
    organization on the feed, so the service no longer alerts A's trades as activity after KYC lapsed."""
    org = str(world.orgs["a"])
    with world.ctx.sessions() as session:
        audit_log.append(session, actor="system:kyc", action="kyc.expired", object_type="organization",
                         object_id=org, change={})  # fmt: skip
        session.commit()
    applied = world.user("a", Role.APPROVER, "ap").post("/v1/kyc/applications", json=application_body(world, "a"))
    assert applied.status_code == 201, applied.text
    officer = world.user("op", Role.COMPLIANCE_OFFICER, "officer")
    step_up(officer)
    decided = call(officer, f"/v1/kyc/applications/{applied.json()['id']}/decision", {"approve": True})
    assert decided.status_code == 200, decided.text
    with world.ctx.sessions() as session:
        wire = [
            FeedItemPublic.model_validate(i).model_dump(mode="json") for i in feed.items(session, after=0, limit=500)
        ]
    approval = next(i for i in wire if i["action"] == "kyc.approved")
    assert approval["object_type"] == "kyc_application" and approval["organization_id"] == org
    renewed, lapsed = Scorer(rules=[]), Scorer(rules=[])
    for i in wire:
        renewed.handle(i)
        if i["sequence"] < approval["sequence"]:
            lapsed.handle(i)
    assert renewed.handle(trade_item(10_000, "t1", org, "B")) == []
    assert [a.detector for a in lapsed.handle(trade_item(10_000, "t1", org, "B"))] == ["kyc_lapsed"]
