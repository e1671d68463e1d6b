"""Retrying a trade whose open failed (or whose signing window closed) with fresh terms and new signatures.

An open that reverts for a reason a party can fix (an allowance revoked after the preflight, a balance moved,
a price gone stale) leaves the economic terms good: the trade keeps them and gets a new nonce, a new start and
deadline (the tenor kept), so a new digest; both parties sign again, and the preflight checks again. The failed
open's nonces stay cancelled on chain; the old signatures can never open anything.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from contracts import eip712
from gateway.db import audit_log
from gateway.trading import terms as trade_terms
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import Trade, TradeStatus
from gateway.trading.nonces import next_terms_nonce
from gateway.trading.terms import TermsChain


def retry(session: Session, hub: TermsChain, *, trade: Trade, actor: str, now: int) -> Trade:
    """Fresh terms for a failed trade, or a pending one whose deadline has passed; signatures cleared. ``now``: the
    chain's clock, read before the write transaction opened (gateway.chain.guard)."""
    terms = trade_terms.terms_of(trade)
    expired = trade.status == TradeStatus.PENDING_SIGNATURES.value and int(terms["deadline"]) <= now
    if trade.status != TradeStatus.FAILED.value and not expired:
        raise InvalidState(f"only a failed trade (or one past its signing deadline) is retried; it is {trade.status}")
    tenor = int(terms["maturity"]) - int(terms["startTime"]) if int(terms["maturity"]) else 0
    fresh = trade_terms.build_terms(
        hub,
        seller=terms["seller"],
        buyer=terms["buyer"],
        cash_token=terms["cashToken"],
        purchase_price=int(terms["purchasePrice"]),
        rate=int(terms["rate"]),
        day_count_basis=int(terms["dayCountBasis"]),
        start=now,
        maturity=now + tenor if tenor else 0,
        notice=int(terms["noticePeriod"]),
        collateral_token=terms["collateralToken"],
        collateral_amount=int(terms["collateralAmount"]),
        haircut_bps=int(terms["haircutBps"]),
        min_transfer=int(terms["minTransferAmount"]),
        cure=int(terms["marginCurePeriod"]),
        grace=int(terms["gracePeriod"]),
        nonce=next_terms_nonce(session, seller=terms["seller"], buyer=terms["buyer"]),
    )
    digest = eip712.digest("RepoTerms", fresh, chain_id=hub.chain_id, engine=hub.require_engine())
    previous = trade.terms_digest
    trade.terms = trade_terms.stored_terms(fresh)
    trade.terms_digest = "0x" + digest.hex()
    trade.seller_signature = None
    trade.buyer_signature = None
    trade.settlement_id = None
    trade.repo_id = None
    trade.status = TradeStatus.PENDING_SIGNATURES.value
    audit_log.append(
        session,
        actor=actor,
        action="trade.retried",
        object_type="trade",
        object_id=str(trade.id),
        change={"previous_digest": previous, "digest": trade.terms_digest},
    )
    session.commit()
    return trade
