"""The token approvals a custodial wallet must send before the engine can take its delivery.

Whether one is needed is a chain read (the wallet's allowance to the engine). For an open it is read before the
request's write transaction opens (``read_open_approvals``, in the read session), and the write re-checks that the
trade is still the one read: no JSON-RPC call while a database write transaction is open (gateway.chain.guard).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.chain.bindings.tokens import Token
from gateway.db.models import Wallet, WalletKind
from gateway.exceptions import Conflict
from gateway.settlement.hub import Hub
from gateway.settlement.market import Market
from gateway.settlement_records.steps import StepSpec
from gateway.trading.models import Trade

MAX_UINT = 2**256 - 1


def needs_approve(market: Market, wallet: Wallet, token: str, amount: int) -> bool:
    """Whether a custodial wallet's allowance to the engine is below ``amount`` (a chain read, unless an earlier
    approve(MAX) is known to be final)."""
    if amount <= 0 or wallet.kind != WalletKind.CUSTODIAL.value:
        return False
    if market.allowance_unlimited(wallet.address, token):
        return False
    allowance = Token(market.token(token)).allowance(wallet.address, market.engine_address)
    if allowance >= MAX_UINT // 2:  # an earlier approve(MAX) is final: no need to ask again
        market.remember_unlimited(wallet.address, token)
    return allowance < amount


def approve_step(market: Market, wallet: Wallet, token: str) -> StepSpec:
    """The wallet's ``approve(engine, MAX)`` of ``token`` (no chain read)."""
    data = market.encode(market.token(token), "approve", market.engine_address, MAX_UINT)
    return StepSpec(label="approve", to=token, data=data, sender=wallet.address, sender_wallet_id=wallet.id)


@dataclass(frozen=True)
class OpenApprovals:
    """Which custodial side must approve the engine before a trade's open, as read from the chain for the terms
    ``terms_digest`` between the wallets ``seller_wallet`` and ``buyer_wallet``."""

    terms_digest: str
    seller_wallet: str
    buyer_wallet: str
    seller_approves: bool
    buyer_approves: bool

    def require_current(self, trade: Trade, seller: Wallet, buyer: Wallet) -> None:
        """Refuse when the trade changed after the allowances were read (fresh terms, other wallets)."""
        if (
            trade.terms_digest != self.terms_digest
            or seller.address != self.seller_wallet
            or buyer.address != self.buyer_wallet
        ):
            raise Conflict("the trade changed while the chain was read: sign again")


def read_open_approvals(read: Session, hub: Hub, trade: Trade) -> OpenApprovals | None:
    """The allowances the open needs, read in the read session before the write transaction opens (None: no chain
    attached)."""
    market = hub.market
    if market is None:
        return None
    from gateway.trading.terms import terms_of

    terms = terms_of(trade)
    seller = read.get(Wallet, trade.seller_wallet_id)
    buyer = read.get(Wallet, trade.buyer_wallet_id)
    assert seller is not None and buyer is not None
    return OpenApprovals(
        terms_digest=trade.terms_digest,
        seller_wallet=seller.address,
        buyer_wallet=buyer.address,
        seller_approves=needs_approve(market, seller, str(terms["collateralToken"]), int(terms["collateralAmount"])),
        buyer_approves=needs_approve(market, buyer, str(terms["cashToken"]), int(terms["purchasePrice"])),
    )
