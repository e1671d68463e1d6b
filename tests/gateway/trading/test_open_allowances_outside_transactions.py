"""The open's token allowances are read before the signing request's write transaction opens: which custodial
wallet must approve the engine first is a chain read (``allowance``), and a JSON-RPC call made while holding
SQLite's write lock stops every other writer for as long as the node takes. The token here answers through the
guard as the real transport does (gateway.chain.guard): ``open_if_ready`` read the allowances inside the
transaction before (both signing routes called it there), and raised under the guard."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import select

from gateway.chain import guard
from gateway.exceptions import Conflict, WriteTransactionOpen
from gateway.settlement import service as settlement
from gateway.settlement.approvals import read_open_approvals
from gateway.settlement.hub import Hub
from gateway.settlement_records.models import ChainStep
from gateway.trading.models import Trade, TradeStatus
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, ENGINE, hub_of, list_instrument, market_world, step_up
from tests.gateway.trading.test_exactly_once import agreed_trade


@dataclass
class AllowanceCall:
    reads: list[str]
    value: int

    def call(self, **_: Any) -> int:
        guard.check("eth_call allowance")
        self.reads.append("allowance")
        return self.value


@dataclass
class GuardedToken:
    """An ERC-20 whose reads ask the guard first, as the seam's transport does."""

    allowances: int
    reads: list[str]

    @property
    def functions(self) -> GuardedToken:
        return self

    def allowance(self, _owner: str, _spender: str) -> AllowanceCall:
        return AllowanceCall(self.reads, self.allowances)


@dataclass
class TokenMarket:
    """What queueing an open uses of the market: tokens, the engine, the relayer's account and calldata. The seller's
    collateral is not yet approved; the buyer's cash is."""

    reads: list[str] = field(default_factory=list)
    engine: object = None
    engine_address: str = ENGINE
    relayer: Any = field(default_factory=Account.create)

    def token(self, address: str) -> GuardedToken:
        return GuardedToken(0 if address.lower() == BOND else 10**30, self.reads)

    def allowance_unlimited(self, _owner: str, _token: str) -> bool:
        return False

    def remember_unlimited(self, _owner: str, _token: str) -> None:
        return None

    def encode(self, _contract: Any, _fn: str, *_args: Any) -> str:
        return "0x00"


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def _seller_signed(world: World) -> uuid.UUID:
    """A trade the seller has signed through the custody door (its consent recorded), the buyer not yet."""
    a, _, trade = agreed_trade(world)
    step_up(a)
    signed = a.client.post(f"/v1/trades/{trade['id']}/sign", headers={**a.headers, "Idempotency-Key": uuid.uuid4().hex})
    assert signed.status_code == 200, signed.text
    return uuid.UUID(trade["id"])


def _attach(world: World) -> tuple[Hub, TokenMarket]:
    hub, market = hub_of(world), TokenMarket()
    hub.market = market  # type: ignore[assignment]
    return hub, market


def test_the_open_reads_the_allowances_before_the_write_transaction(world: World) -> None:
    assert guard.guard.enabled  # tests/gateway runs with the guard on
    trade_id = _seller_signed(world)
    hub, market = _attach(world)
    with world.ctx.read_sessions() as read:
        seen = read.get(Trade, trade_id)
        assert seen is not None
        approvals = read_open_approvals(read, hub, seen)
    assert approvals is not None and approvals.seller_approves and not approvals.buyer_approves
    assert market.reads == ["allowance", "allowance"]
    with world.ctx.sessions() as session:
        trade = session.get(Trade, trade_id)
        assert trade is not None
        trade.buyer_signature = "0x" + "11" * 65
        opened = settlement.open_if_ready(session, hub, trade=trade, actor="test", approvals=approvals)
        assert opened is not None and trade.status == TradeStatus.SETTLING.value
        labels = session.scalars(
            select(ChainStep.label).where(ChainStep.settlement_id == opened.id).order_by(ChainStep.seq)
        ).all()
        assert list(labels) == ["approve", "open"]  # the seller's approve first, from the reading before
        session.commit()
    assert market.reads == ["allowance", "allowance"]  # nothing read inside the transaction


def test_reading_the_allowances_inside_a_write_transaction_is_refused(world: World) -> None:
    """The guard this relies on: the read the open used to make inside the transaction raises there."""
    trade_id = _seller_signed(world)
    hub, _ = _attach(world)
    with world.ctx.sessions() as session:
        trade = session.get(Trade, trade_id)
        assert trade is not None
        with pytest.raises(WriteTransactionOpen):
            read_open_approvals(session, hub, trade)


def test_allowances_read_for_other_terms_are_refused(world: World) -> None:
    trade_id = _seller_signed(world)
    hub, _ = _attach(world)
    with world.ctx.read_sessions() as read:
        seen = read.get(Trade, trade_id)
        assert seen is not None
        approvals = read_open_approvals(read, hub, seen)
    assert approvals is not None
    with world.ctx.sessions() as session:
        trade = session.get(Trade, trade_id)
        assert trade is not None
        trade.buyer_signature = "0x" + "11" * 65
        with pytest.raises(Conflict):  # fresh terms (a retry) since the reading: sign again
            settlement.open_if_ready(
                session, hub, trade=trade, actor="test", approvals=replace(approvals, terms_digest="0x" + "00" * 32)
            )
        with pytest.raises(Conflict):  # no reading at all
            settlement.open_if_ready(session, hub, trade=trade, actor="test", approvals=None)
