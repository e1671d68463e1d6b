"""Objects of organization A for the cross-organization authorization matrix (tests/gateway/api)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from contracts import eip712
from gateway.db.models import Wallet
from gateway.settlement_records.models import Instruction, RepoRecord
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.trading.models import Trade
from tests.gateway.conftest import Cast, World
from tests.gateway.market import BOND, CASH, ENGINE, hub_of, list_instrument


def _a_wallet(world: World, objects: dict[str, str]) -> Wallet:
    with world.ctx.sessions() as session:
        wallet = session.get(Wallet, uuid.UUID(objects["wallet_id"]))
        assert wallet is not None
        session.expunge(wallet)
        return wallet


def _listed(world: World) -> None:
    from gateway.trading.models import Instrument

    with world.ctx.sessions() as session:
        if session.get(Instrument, CASH.lower()) is not None:
            return
    list_instrument(world, CASH, "cash", 6, "EURD")
    list_instrument(world, BOND, "bond", 2, "DBR35")


def rfq(world: World, cast: Cast, objects: dict[str, str]) -> str:
    _listed(world)
    body = {
        "seller_wallet_id": objects["wallet_id"],
        "cash_token": CASH,
        "collateral_token": BOND,
        "purchase_price": "100",
        "collateral_amount": "120",
        "tenor_seconds": 3600,
        "lenders": [str(world.orgs["op"])],
    }  # not addressed to B
    response = cast.a_trader.post("/v1/rfqs", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def trade(world: World, cast: Cast, objects: dict[str, str]) -> str:
    hub = hub_of(world)
    hub.engine = hub.engine or ENGINE
    wallet = _a_wallet(world, objects)
    with world.ctx.sessions.begin() as session:
        other = Wallet(organization_id=world.orgs["op"], address="0x" + "0d" * 20, kind="custodial", label="op")
        session.add(other)
        session.flush()
        terms: dict[str, Any] = {f["name"]: 1 for f in eip712.REPO_TERMS}
        terms.update(seller=wallet.address, buyer=other.address, cashToken=CASH, collateralToken=BOND)
        row = Trade(
            source="direct",
            seller_org_id=world.orgs["a"],
            buyer_org_id=world.orgs["op"],
            seller_wallet_id=wallet.id,
            buyer_wallet_id=other.id,
            seller_initiator=cast.a_trader.id,
            terms={k: str(v) if not str(v).startswith("0x") else v for k, v in terms.items()},
            terms_digest="0x" + "00" * 32,
            chain_id=31337,
            engine=hub.engine,
            repo_id=1,
        )
        session.add(row)
        session.flush()
        return str(row.id)


def draft(world: World, cast: Cast, objects: dict[str, str]) -> str:
    response = cast.a_admin.post("/v1/policy/drafts", json={"rules": [{"name": "all", "action": "allow"}]})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def settlement(world: World, cast: Cast, objects: dict[str, str]) -> str:
    with world.ctx.sessions.begin() as session:
        row = enqueue(
            session,
            kind="open",
            requested_by="test",
            organization_id=world.orgs["a"],
            steps=[StepSpec(label="open", to=ENGINE, data="0x", sender="0x" + "11" * 20)],
        )
        return str(row.id)


def repo(world: World, cast: Cast, objects: dict[str, str]) -> str:
    trade_id = objects.get("trade_id") or trade(world, cast, objects)
    assert trade_id
    wallet = _a_wallet(world, objects)
    with world.ctx.sessions.begin() as session:
        if session.execute(select(RepoRecord).where(RepoRecord.repo_id == 1)).first() is None:
            session.add(
                RepoRecord(
                    repo_id=1,
                    seller=wallet.address,
                    buyer="0x" + "0d" * 20,
                    holder="0x" + "0d" * 20,
                    seller_org_id=world.orgs["a"],
                    holder_org_id=world.orgs["op"],
                    cash_token=CASH,
                    collateral_token=BOND,
                    collateral_amount="120",
                    purchase_price="100",
                    rate="0",
                    day_count_basis=360,
                    haircut_bps=0,
                    status="open",
                    opened_at=0,
                    maturity=0,
                    period_start=0,
                )
            )
    return "1"


def instruction(world: World, cast: Cast, objects: dict[str, str]) -> str:
    wallet = _a_wallet(world, objects)
    with world.ctx.sessions.begin() as session:
        row = Instruction(
            repo_id=1,
            kind="Amendment",
            message={"repoId": "1", "kind": "1", "newMaturity": "0", "newRate": "1", "nonce": "1", "deadline": "1"},
            signatures={},
            required=[wallet.address.lower()],
            created_by="test",
        )
        session.add(row)
        session.flush()
        return str(row.id)


OBJECTS = {
    "rfq_id": rfq,
    "trade_id": trade,
    "draft_id": draft,
    "settlement_id": settlement,
    "repo_id": repo,
    "instruction_id": instruction,
}

BODIES = {
    ("post", "/v1/rfqs/{rfq_id}/quotes"): {"buyer_wallet_id": str(uuid.uuid4()), "rate": "0.01", "haircut_bps": 1},
    ("post", "/v1/rfqs/{rfq_id}/accept"): {"quote_id": str(uuid.uuid4())},
    ("post", "/v1/trades/{trade_id}/signature"): {"signature": "0x" + "11" * 65},
    ("post", "/v1/policy/drafts/{draft_id}/decision"): {"approve": True},
    ("post", "/v1/repos/{repo_id}/margin"): {"cash_amount": "1"},
    ("post", "/v1/repos/{repo_id}/withdraw-excess"): {"cash_amount": "1"},
    ("post", "/v1/repos/{repo_id}/substitutions"): {"new_collateral_token": BOND, "new_collateral_amount": "1"},
    ("post", "/v1/repos/{repo_id}/amendments"): {"kind": "rerate", "new_rate": "0.01"},
    ("post", "/v1/repos/{repo_id}/position-transfer"): {"to_wallet": BOND},
    ("post", "/v1/instructions/{instruction_id}/signature"): {"signature": "0x" + "11" * 65},
    ("post", "/v1/trades/{trade_id}/rejections"): {"reason": "not this trade"},
    ("post", "/v1/instructions/{instruction_id}/rejections"): {"reason": "not this instruction"},
}
