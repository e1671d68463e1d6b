"""The registry's and the anchor's writes go through the outbox (gateway.settlement.registry) where a relayer is
configured: a KYC approval, a freeze, a new wallet and an anchor are recorded with their transaction in the
decision's own database transaction and nothing is written to the chain during the request; the relayer then
sends each from its purpose's account (the KYC agent's, the anchoring account's), resends after a transport
error, and the finality hooks record what the chain now holds (identity id, whitelisted wallets, anchor)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from sqlalchemy import select

from gateway.chain.memory import InMemoryChain
from gateway.chain.outage import reachability
from gateway.db.models import AuditAnchorRecord, AuditEntry, KycStatus, Organization, Role, Wallet
from gateway.settlement import registry
from gateway.settlement.hub import Hub
from gateway.settlement.market import Market
from gateway.settlement.relay_loop import Relayer
from gateway.settlement_records.models import ChainStep, Settlement
from tests.gateway.conftest import Member, World, application_body
from tests.gateway.fakechain import FakeNode, fake_web3
from tests.gateway.market import ENGINE, market_world

ORACLE = "0x" + "0c" * 20
REGISTRY = "0x" + "1d" * 20
ANCHOR = "0x" + "a0" * 20
IDENTITY = 7
REGISTERED = keccak(text="IdentityRegistered(uint256,bytes32,bytes2,uint8,uint64)")


class RegistryNode(FakeNode):
    """The fake node whose registrations announce identity ``IDENTITY`` in their receipts, as the registry does."""

    def _answer(self, method: str, params: Any) -> dict[str, Any]:
        if method == "eth_getTransactionCount":
            sender = str(params[0]).lower()
            count = sum(1 for raw in self.received if Account.recover_transaction(raw).lower() == sender)
            return {"result": hex(count)}
        answer = super()._answer(method, params)
        if method == "eth_sendRawTransaction" and "result" in answer:
            self.logs[answer["result"]] = [_registered_log(answer["result"])]
        return answer


def _registered_log(tx_hash: str) -> dict[str, Any]:
    return {
        "address": REGISTRY,
        "topics": ["0x" + REGISTERED.hex(), "0x" + IDENTITY.to_bytes(32, "big").hex(), "0x" + "00" * 32],
        "data": "0x" + encode(["bytes2", "uint8", "uint64"], [b"GB", 1, 2**40]).hex(),
        "blockNumber": "0x1",
        "blockHash": "0x" + "11" * 32,
        "transactionHash": tx_hash,
        "transactionIndex": "0x0",
        "logIndex": "0x0",
        "removed": False,
    }


@dataclass
class Outbox:
    world: World
    node: RegistryNode
    relayer: Relayer
    kyc_agent: LocalAccount
    anchorer: LocalAccount
    chain: InMemoryChain


@pytest.fixture
def outbox(tmp_path: Path, db_url: str) -> Iterator[Outbox]:
    node = RegistryNode()
    relayer_account, kyc_agent, anchorer = Account.create(), Account.create(), Account.create()
    market = Market(
        fake_web3(node),
        engine=ENGINE,
        oracle=ORACLE,
        relayer=relayer_account,
        kyc_agent=kyc_agent,
        anchorer=anchorer,
        identity_registry=REGISTRY,
        audit_anchor=ANCHOR,
    )
    chain = InMemoryChain()
    hub = Hub(chain_id=1337, engine=ENGINE, market=market)
    for world in market_world(tmp_path, db_url, chain=chain, hub=hub):
        relayer = Relayer(
            market,
            world.ctx.sessions,
            world.ctx.keys,
            hooks=registry.HOOKS,
            failure_hooks=registry.FAILURE_HOOKS,
            read_sessions=world.ctx.read_sessions,
        )
        yield Outbox(world, node, relayer, kyc_agent, anchorer, chain)
    reachability.answered()


def settle(box: Outbox, settlement_id: str, timeout: float = 15.0) -> str:
    """Tick the relayer until the settlement ends (a resend waits a second after the last attempt)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            box.relayer.run_once()
        except Exception as exc:  # the node out of reach: the relayer's loop retries the tick
            assert reachability.unreachable or "Connection refused" in str(exc), exc
        with box.world.ctx.read_sessions() as session:
            found = session.get(Settlement, uuid.UUID(settlement_id))
            assert found is not None
            if found.status != "pending":
                return found.status
        time.sleep(0.05)
    raise AssertionError(f"settlement {settlement_id} did not settle")


def _steps(box: Outbox, settlement_id: str) -> list[ChainStep]:
    with box.world.ctx.read_sessions() as session:
        return list(session.scalars(select(ChainStep).where(ChainStep.settlement_id == uuid.UUID(settlement_id))))


def _approve(box: Outbox) -> tuple[Member, dict[str, Any]]:
    world = box.world
    officer = world.user("op", Role.COMPLIANCE_OFFICER, "o1")
    approver = world.user("a", Role.APPROVER, "ap")
    wallet = approver.post("/v1/wallets", json={"label": "desk"})
    assert wallet.status_code == 201 and wallet.json()["settlement_id"] is None  # not approved yet: nothing to send
    application = approver.post("/v1/kyc/applications", json=application_body(world, "a")).json()
    approved = officer.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    assert approved.status_code == 200, approved.text
    return approver, {"wallet": wallet.json(), "decision": approved.json(), "officer": officer}


def test_kyc_approval_is_a_pending_registration_until_the_relayer_sees_it_final(outbox: Outbox) -> None:
    approver, seen = _approve(outbox)
    decision = seen["decision"]
    assert decision["status"] == "approved" and decision["settlement_id"]
    assert outbox.node.received == [] and outbox.chain.calls == []  # nothing written during the request
    world = outbox.world
    with world.ctx.read_sessions() as session:
        org = session.get(Organization, world.orgs["a"])
        assert org is not None
        assert org.kyc_status == KycStatus.APPROVED.value and org.onchain_identity_id is None
        wallet = session.get(Wallet, uuid.UUID(seen["wallet"]["id"]))
        assert wallet is not None and not wallet.onchain_whitelisted
    [step] = _steps(outbox, decision["settlement_id"])
    assert step.to.lower() == REGISTRY and step.sender == outbox.kyc_agent.address  # the KYC agent's account

    outbox.node.send_down = True  # the node dies mid-send: the step keeps its signed bytes and is sent again
    outbox.relayer.run_once()
    assert outbox.node.received == []
    outbox.node.send_down = False
    assert settle(outbox, decision["settlement_id"]) == "final"
    assert [Account.recover_transaction(raw) for raw in outbox.node.received] == [outbox.kyc_agent.address]
    with world.ctx.read_sessions() as session:
        org = session.get(Organization, world.orgs["a"])
        assert org is not None and org.onchain_identity_id == IDENTITY
        wallet = session.get(Wallet, uuid.UUID(seen["wallet"]["id"]))
        assert wallet is not None and wallet.onchain_whitelisted
        actions = list(session.scalars(select(AuditEntry.action)))
        assert "chain.kyc_register.final" in actions

    later = approver.post("/v1/wallets", json={"label": "later"})  # an approved member's new wallet: queued
    assert later.status_code == 201 and not later.json()["onchain_whitelisted"], later.text
    assert settle(outbox, later.json()["settlement_id"]) == "final"
    with world.ctx.read_sessions() as session:
        added = session.get(Wallet, uuid.UUID(later.json()["id"]))
        assert added is not None and added.onchain_whitelisted


def test_freeze_takes_effect_here_at_once_and_on_chain_through_the_outbox(outbox: Outbox) -> None:
    _, seen = _approve(outbox)
    assert settle(outbox, seen["decision"]["settlement_id"]) == "final"
    sent = len(outbox.node.received)
    world = outbox.world
    frozen = seen["officer"].post(f"/v1/organizations/{world.orgs['a']}/kyc/freeze", json={"reason": "test"})
    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["kyc_status"] == "frozen" and frozen.json()["settlement_id"]
    assert len(outbox.node.received) == sent  # nothing sent during the request
    [step] = _steps(outbox, frozen.json()["settlement_id"])
    assert step.sender == outbox.kyc_agent.address and step.data.startswith(
        "0x" + keccak(text="freezeIdentity(uint256)")[:4].hex()
    )
    assert settle(outbox, frozen.json()["settlement_id"]) == "final"


def test_a_freeze_decided_before_the_registration_is_final_follows_it_to_the_chain(outbox: Outbox) -> None:
    _, seen = _approve(outbox)
    world = outbox.world
    frozen = seen["officer"].post(f"/v1/organizations/{world.orgs['a']}/kyc/freeze", json={"reason": "test"})
    assert frozen.status_code == 200 and frozen.json()["settlement_id"] is None  # no identity on chain yet
    assert settle(outbox, seen["decision"]["settlement_id"]) == "final"
    with world.ctx.read_sessions() as session:
        queued = session.scalars(select(Settlement).where(Settlement.kind == "kyc_freeze")).one()
    assert settle(outbox, str(queued.id)) == "final"


def test_an_anchor_is_queued_from_the_anchoring_account_and_recorded_when_final(outbox: Outbox) -> None:
    _, seen = _approve(outbox)
    answer = seen["officer"].post("/v1/audit/anchor")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["settlement_id"] and body["anchored_at"] is None and body["tx_hash"] is None
    assert outbox.node.received == []
    again = seen["officer"].post("/v1/audit/anchor")
    assert again.status_code == 409  # one anchor on its way at a time
    assert settle(outbox, body["settlement_id"]) == "final"
    [step] = _steps(outbox, body["settlement_id"])
    assert step.raw is not None and Account.recover_transaction(step.raw) == outbox.anchorer.address
    with outbox.world.ctx.read_sessions() as session:
        record = session.scalars(select(AuditAnchorRecord)).one()
        assert record.sequence == body["sequence"] and record.head_hash == body["head_hash"]
