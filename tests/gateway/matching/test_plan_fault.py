"""Who a failed collateral plan blames: a borrower holding no covering bond at a current price has its order
withdrawn, but when no bond of the basket has a current price at all (a stale feed) nobody is at fault and neither
order leaves the book."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

import pytest
from web3.exceptions import ContractLogicError

from gateway.matching import settle
from gateway.matching.models import GcBasketRow, GcOrder
from tests.gateway.conftest import World
from tests.gateway.fake_tokens import FakeToken
from tests.gateway.matching.test_outcome_checks import _order, book

__all__ = ["book"]
CASH, BOND = "0x" + "11" * 20, "0x" + "22" * 20
SIGNED = {"matcher": "0x" + "ab" * 20, "cashToken": CASH, "basket": "0x" + "33" * 32, "start": "0", "maturity": "100",
          "rate": "4", "size": "1000", "minFill": "1", "nonce": "1", "deadline": "200"}  # fmt: skip


@dataclass
class _Call:
    value: Any

    def call(self, **_: Any) -> Any:
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


class _Functions:
    def __init__(self, market: _Market) -> None:
        self.market = market

    def getPrice(self, bond: str, cash: str) -> _Call:
        return _Call(ContractLogicError("stale") if self.market.stale else (10**16, 0))


class _Contract:
    def __init__(self, market: _Market) -> None:
        self.functions = _Functions(market)


class _Market:
    """The chain reads a plan makes: the clock, balances (plenty of cash; ``bond_held`` of the bond), the price."""

    def __init__(self, *, stale: bool) -> None:
        self.stale = stale
        self.oracle = _Contract(self)

    def now(self) -> int:
        return 50

    def token(self, address: str) -> Any:
        return FakeToken(address, 0 if address == BOND else 10**30)  # the borrower holds none of the bond


def _parties(world: World) -> settle.FillParties:
    lend, borrow = _order(world, "b", "lend", 3), _order(world, "a", "borrow", 5)
    with world.ctx.sessions() as session:
        rows = {}
        for order_id, side in ((lend, 1), (borrow, 0)):
            row = session.get(GcOrder, order_id)
            assert row is not None
            row.signed = {**SIGNED, "maker": "0x" + uuid.uuid4().hex + "00" * 4, "side": str(side)}
            rows[order_id] = row
        basket = GcBasketRow(basket_id="GC-A", cash_token=CASH, day_count_basis=360, min_transfer_amount="0",
                             margin_cure_period=0, grace_period=0, bonds=[{"token": BOND, "haircut_bps": 200}],
                             basket_hash=SIGNED["basket"], created_by="test")  # fmt: skip
        return settle.FillParties(lend=rows[lend], borrow=rows[borrow], basket=basket)


@pytest.mark.parametrize(("stale", "at_fault"), [(False, "borrow"), (True, None)])
def test_only_a_priced_bond_the_borrower_lacks_blames_the_borrower(book: World, stale: bool, at_fault: str) -> None:
    parties = _parties(book)
    with book.ctx.sessions() as session:
        found = settle.plan(cast(Any, _Market(stale=stale)), session, parties, 500)
    assert found.failure == settle.UNSETTLEABLE and found.at_fault == at_fault


def test_an_order_signed_before_orders_named_their_day_is_withdrawn_not_sent(book: World) -> None:
    """After the upgrade that added ``start`` to the signed order, a live order signed under the old type would
    only revert on chain: its fill fails before any transaction and that order leaves the book."""
    parties = _parties(book)
    parties.borrow.signed = {k: v for k, v in dict(parties.borrow.signed or {}).items() if k != "start"}
    with book.ctx.sessions() as session:
        found = settle.plan(cast(Any, _Market(stale=False)), session, parties, 500)
    assert found.failure == settle.UNSETTLEABLE and found.at_fault == "borrow"
