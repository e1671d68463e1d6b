"""Trading's names for its declared permissions (see ``gateway.api.permits``): trade, trade with a fresh TOTP
code, approve; the operator's market functions. And the chain seam as trading's routes need it (``ChainDep``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.api.permits import MarketOperateStepUp, TradesApprove, TradesWrite, TradesWriteStepUp
from gateway.trading.exceptions import SettlementUnavailable
from gateway.trading.terms import TermsChain

Trader = TradesWrite
TraderStepUp = TradesWriteStepUp
Approver = TradesApprove
OperatorAdmin = MarketOperateStepUp


async def terms_chain(request: Request) -> TermsChain:
    """The settlement hub the app installed, by the protocol trading builds terms against (its clock, chain id,
    engine): trading's routes import no settlement module, which imports trading's models."""
    hub: TermsChain | None = getattr(request.app.state, "hub", None)
    if hub is None:
        raise SettlementUnavailable("settlement is not installed")
    return hub


ChainDep = Annotated[TermsChain, Depends(terms_chain)]

__all__ = ["Approver", "ChainDep", "OperatorAdmin", "Trader", "TraderStepUp", "terms_chain"]
