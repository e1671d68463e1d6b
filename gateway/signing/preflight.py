"""Preflight of an open: before a party's signature is accepted, check that the open would run.

A signature accepted for an open that then reverts kills the trade (its nonce is cancelled), so every reason the
client can fix is found first and refused with a stable code (409 ``open-would-fail``, ``reason`` one of
``balance``, ``allowance``, ``deadline``, ``contract``):

- the signing side's delivery (the seller's collateral, the buyer's cash): its wallet's balance, and for a
  self-held wallet its allowance to the engine (the gateway queues the ``approve`` of a custodial wallet itself);
- when the signature completes the pair: the engine's ``open`` itself as an ``eth_call`` from the relayer: KYC,
  prices, nonce, both deliveries and every rule of the engine, as the relayer will send it. A self-held side's
  signature is its own; a custodial side's is never in the call (it is made only after this check and the policy):
  ``gateway.settlement.simulate`` stands in for it, and for the ``approve`` the gateway sends first, with state
  overrides. Only when the engine refuses are the two deliveries read, to name the reason the client can fix
  (``balance``, ``allowance``) rather than the engine's words: an open that will run costs one call, not five.

A custodial wallet's allowance to the engine is read once: after its ``approve(MAX)`` is seen, the market remembers
it (``Market.allowance_unlimited``; the gateway never lowers it, and an unlimited allowance is never spent down).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.chain.bindings.tokens import Token
from gateway.db.models import Wallet, WalletKind
from gateway.exceptions import Conflict
from gateway.settlement.approvals import MAX_UINT
from gateway.settlement.hub import Hub
from gateway.settlement.market import Market
from gateway.settlement.simulate import Overrides
from gateway.trading.models import Trade


class OpenWouldFail(Conflict):
    title = "The open would fail on chain: fix the reason, then sign again"
    type_slug = "open-would-fail"


@dataclass(frozen=True)
class Delivery:
    """What one side gives at the open: ``amount`` smallest units of ``token`` from ``wallet``."""

    side: str
    wallet: Wallet
    token: str
    amount: int


def deliveries(session: Session, trade: Trade, terms: dict[str, Any]) -> dict[str, Delivery]:
    seller = session.get(Wallet, trade.seller_wallet_id)
    buyer = session.get(Wallet, trade.buyer_wallet_id)
    assert seller is not None and buyer is not None
    return {
        "seller": Delivery("seller", seller, str(terms["collateralToken"]), int(terms["collateralAmount"])),
        "buyer": Delivery("buyer", buyer, str(terms["cashToken"]), int(terms["purchasePrice"])),
    }


def _allowance(market: Market, delivery: Delivery) -> int:
    """The wallet's allowance to the engine; a custodial wallet's unlimited one is remembered (``needs_approve``)."""
    owner = delivery.wallet.address
    if delivery.wallet.kind == WalletKind.CUSTODIAL.value and market.allowance_unlimited(owner, delivery.token):
        return MAX_UINT
    allowance = Token(market.token(delivery.token)).allowance(owner, market.engine_address)
    if delivery.wallet.kind == WalletKind.CUSTODIAL.value and allowance >= MAX_UINT // 2:
        market.remember_unlimited(owner, delivery.token)
    return allowance


def check_delivery(market: Market, delivery: Delivery) -> bool:
    """Raise if ``delivery`` cannot be made; True when its allowance is already in place (no approve to come)."""
    address = delivery.wallet.address
    balance = Token(market.token(delivery.token)).balance_of(address)
    if balance < delivery.amount:
        raise OpenWouldFail(
            f"the {delivery.side}'s wallet {address} holds {balance} of {delivery.token}; the open needs "
            f"{delivery.amount} (smallest units)",
            reason="balance",
            side=delivery.side,
            wallet=address,
            token=delivery.token,
            needed_units=str(delivery.amount),
            held_units=str(balance),
        )
    allowance = _allowance(market, delivery)
    if allowance >= delivery.amount:
        return True
    if delivery.wallet.kind == WalletKind.CUSTODIAL.value:
        return False  # the gateway sends this wallet's approve before the open
    raise OpenWouldFail(
        f"the {delivery.side}'s self-held wallet {address} allows the engine {market.engine_address} "
        f"{allowance} of {delivery.token}; the open needs {delivery.amount}: send approve() first (the engine's "
        "address is in GET /v1/network)",
        reason="allowance",
        side=delivery.side,
        wallet=address,
        token=delivery.token,
        spender=market.engine_address,
        needed_units=str(delivery.amount),
        allowance_units=str(allowance),
    )


def check_open(session: Session, hub: Hub, trade: Trade, side: str, *, signature: str | None = None) -> None:
    """Refuse ``side``'s signature (``signature``, when the client brings it) if the open would fail."""
    market = hub.market
    if market is None:
        return  # no chain attached: nothing to simulate (the open cannot be sent either)
    from gateway.settlement.service import _terms_tuple
    from gateway.trading.terms import terms_of

    terms = terms_of(trade)
    if int(terms["deadline"]) <= market.now():
        raise OpenWouldFail("the terms' deadline has passed: retry the trade for fresh terms", reason="deadline")
    parties = deliveries(session, trade, terms)
    other = "buyer" if side == "seller" else "seller"
    other_signature = trade.buyer_signature if side == "seller" else trade.seller_signature
    if other_signature is None:
        check_delivery(market, parties[side])
        return
    signatures = {side: signature, other: other_signature}
    overrides = Overrides()
    for party in parties.values():
        if party.wallet.kind != WalletKind.CUSTODIAL.value:
            continue
        # never a custodial signature in the call, even one already made: see gateway.settlement.simulate
        signatures[party.side] = overrides.as_custodial(party.wallet.address)
        ready = _allowance(market, party) >= party.amount
        if not ready and not overrides.allow(market, party.token, party.wallet.address):
            # the approve goes first and its effect cannot be simulated: the deliveries are checked, and the
            # relayer's open tells the rest
            _check_deliveries(market, parties)
            return
    seller_signature, buyer_signature = signatures["seller"], signatures["buyer"]
    if seller_signature is None or buyer_signature is None:
        _check_deliveries(market, parties)  # a self-held side that has not brought its signature: the engine
        return  # is asked when it does
    data = market.encode(
        market.engine,
        "open",
        _terms_tuple(terms),
        bytes.fromhex(seller_signature[2:]),
        bytes.fromhex(buyer_signature[2:]),
    )
    reason = market.revert_reason(
        sender=market.relayer.address, to=market.engine_address, data=data, overrides=overrides.accounts or None
    )
    if reason is not None:
        _check_deliveries(market, parties)  # a reason the client can fix comes first
        raise OpenWouldFail(f"the engine would refuse the open: {reason}", reason="contract", contract_error=reason)


def _check_deliveries(market: Market, parties: dict[str, Delivery]) -> None:
    """Both sides' deliveries, the seller's first: raises ``OpenWouldFail`` naming the first that cannot be made."""
    for party in ("seller", "buyer"):
        check_delivery(market, parties[party])
