"""Direct terms: a member proposes a trade to a named counterparty wallet, no RFQ in between."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.db.models import Wallet
from gateway.exceptions import InvalidRequest, NotFound
from gateway.trading import maturity as repo_maturity
from gateway.trading import money
from gateway.trading.models import InstrumentKind, Trade
from gateway.trading.nonces import next_terms_nonce
from gateway.trading.records import instrument, own_wallet
from gateway.trading.schemas import DirectTradeCreate
from gateway.trading.terms import TermsChain, build_terms, new_trade, requested_maturity


def create_direct(
    session: Session,
    hub: TermsChain,
    *,
    actor: str,
    user_id: uuid.UUID,
    organization_id: uuid.UUID,
    body: DirectTradeCreate,
    now: int,
) -> Trade:
    """``now``: the chain's clock, read by the caller before its write transaction opened (gateway.chain.guard)."""
    from eth_utils.address import to_checksum_address

    mine = own_wallet(session, wallet_id=body.wallet_id, organization_id=organization_id)
    theirs = session.execute(
        select(Wallet).where(Wallet.address == to_checksum_address(body.counterparty_wallet))
    ).scalar_one_or_none()
    if theirs is None:
        raise NotFound("counterparty wallet is not registered")
    cash = instrument(session, body.cash_token, InstrumentKind.CASH)
    bond = instrument(session, body.collateral_token, InstrumentKind.BOND)
    maturity = requested_maturity(body, now)
    maturity = now - maturity if maturity < 0 else maturity
    repo_maturity.require_outlives(session, hub, collateral_token=bond.address, repo_maturity=maturity)
    seller, buyer = (mine, theirs) if body.role == "seller" else (theirs, mine)
    pp = money.to_units(body.purchase_price, cash.decimals, field="purchase_price")
    amount = money.to_units(body.collateral_amount, bond.decimals, field="collateral_amount")
    if pp == 0 or amount == 0:
        raise InvalidRequest("purchase_price and collateral_amount must be positive")
    terms = build_terms(
        hub,
        seller=seller.address,
        buyer=buyer.address,
        cash_token=cash.address,
        purchase_price=pp,
        rate=money.rate_to_wad(body.rate),
        day_count_basis=body.day_count_basis,
        start=now,
        maturity=maturity,
        notice=body.notice_period_seconds,
        collateral_token=bond.address,
        collateral_amount=amount,
        haircut_bps=body.haircut_bps,
        min_transfer=money.min_transfer_units(body.min_transfer_amount, cash.decimals),
        cure=body.margin_cure_period_seconds,
        grace=body.grace_period_seconds,
        nonce=next_terms_nonce(session, seller=seller.address, buyer=buyer.address),
    )
    trade = new_trade(
        session,
        hub,
        terms=terms,
        source="direct",
        rfq_id=None,
        seller_wallet=seller,
        buyer_wallet=buyer,
        seller_initiator=user_id if body.role == "seller" else None,
        buyer_initiator=user_id if body.role == "buyer" else None,
    )
    audit_log.append(
        session,
        actor=actor,
        action="trade.proposed",
        object_type="trade",
        object_id=str(trade.id),
        change={"digest": trade.terms_digest, "role": body.role},
    )
    session.commit()
    return trade
