"""The outbox (the relayer) against a fake node: each of the gateway's purposes sends from its own account with a
nonce sequence of its own, a step naming no account of ours fails without being sent, and no JSON-RPC call is
made while the relayer holds a database write transaction (the fake node honours the seam's guard)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from gateway.chain.outage import reachability
from gateway.settlement.market import Market
from gateway.settlement.relay_loop import Relayer
from gateway.settlement_records.models import ChainStep, Settlement
from gateway.settlement_records.steps import StepSpec, enqueue
from tests.gateway.conftest import World
from tests.gateway.fakechain import FakeNode, fake_web3
from tests.gateway.market import ENGINE, market_world

ORACLE = "0x" + "0c" * 20
TOKEN = "0x" + "ca" * 20


class PerSenderNode(FakeNode):
    """The fake node, counting each sender's transactions apart (as a node does)."""

    def senders(self) -> list[tuple[str, int]]:
        """(sender, nonce) of each transaction received, in order."""
        return [(Account.recover_transaction(raw), _nonce_of(raw)) for raw in self.received]

    def _answer(self, method: str, params: Any) -> dict[str, Any]:
        if method == "eth_getTransactionCount":
            sender = str(params[0]).lower()
            count = sum(1 for raw in self.received if Account.recover_transaction(raw).lower() == sender)
            return {"result": hex(count)}
        return super()._answer(method, params)


def _nonce_of(raw: str) -> int:
    """The nonce of a legacy signed transaction (an RLP list whose first item is the nonce)."""
    from rlp import decode

    return int.from_bytes(decode(bytes.fromhex(raw.removeprefix("0x")))[0] or b"\x00", "big")


@pytest.fixture
def outbox(tmp_path: Path, db_url: str) -> Iterator[tuple[World, PerSenderNode, Relayer, dict[str, LocalAccount]]]:
    node = PerSenderNode()
    accounts = {"relayer": Account.create(), "issuer": Account.create(), "feeder": Account.create()}
    market = Market(
        fake_web3(node),
        engine=ENGINE,
        oracle=ORACLE,
        relayer=accounts["relayer"],
        issuer=accounts["issuer"],
        feeder=accounts["feeder"],
    )
    for world in market_world(tmp_path, db_url):
        relayer = Relayer(market, world.ctx.sessions, world.ctx.keys, read_sessions=world.ctx.read_sessions)
        yield world, node, relayer, accounts
    reachability.answered()


def queue(world: World, label: str, sender: str, to: str = TOKEN) -> uuid.UUID:
    with world.ctx.sessions() as session:
        settlement = enqueue(
            session, kind=label, requested_by="test", steps=[StepSpec(label=label, to=to, data="0x", sender=sender)]
        )
        session.commit()
        return settlement.id


def settle(world: World, relayer: Relayer, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str | None]]:
    for _ in range(50):
        relayer.run_once()
        with world.ctx.read_sessions() as session:
            rows = {
                s.id: (s.status, s.error) for s in session.scalars(select(Settlement).where(Settlement.id.in_(ids)))
            }
        if all(status != "pending" for status, _ in rows.values()):
            return rows
    raise AssertionError(f"not settled: {rows}")


def test_each_purpose_sends_from_its_own_account_with_its_own_nonces(
    outbox: tuple[World, PerSenderNode, Relayer, dict[str, LocalAccount]],
) -> None:
    world, node, relayer, accounts = outbox
    ids = [
        queue(world, "cash_issue", accounts["issuer"].address),
        queue(world, "price", accounts["feeder"].address, to=ORACLE),
        queue(world, "pause", accounts["relayer"].address),
        queue(world, "cash_issue", accounts["issuer"].address),
    ]
    results = settle(world, relayer, ids)
    assert {status for status, _ in results.values()} == {"final"}, results
    sent = node.senders()
    issuer, feeder, operator = (accounts[k].address for k in ("issuer", "feeder", "relayer"))
    assert sorted(n for s, n in sent if s == issuer) == [0, 1]  # the issuer's own sequence
    assert [n for s, n in sent if s == feeder] == [0]
    assert [n for s, n in sent if s == operator] == [0]
    with world.ctx.read_sessions() as session:
        steps = [(row.sender, row.nonce) for row in session.scalars(select(ChainStep).order_by(ChainStep.sent_at))]
    assert sorted(steps) == sorted(sent)  # the outbox recorded what the node received


def test_a_step_from_an_account_that_is_not_ours_fails_unsent(
    outbox: tuple[World, PerSenderNode, Relayer, dict[str, LocalAccount]],
) -> None:
    world, node, relayer, _ = outbox
    stranger = Account.create().address
    settlement_id = queue(world, "cash_issue", stranger)
    status, error = settle(world, relayer, [settlement_id])[settlement_id]
    assert status == "failed" and error is not None and "neither a custodial wallet" in error
    assert node.received == []
