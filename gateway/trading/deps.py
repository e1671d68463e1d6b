"""Trading's names for its declared permissions (see ``gateway.api.permits``): trade, trade with a fresh TOTP
code, approve; the operator's market functions."""

from __future__ import annotations

from gateway.api.permits import MarketOperateStepUp, TradesApprove, TradesWrite, TradesWriteStepUp

Trader = TradesWrite
TraderStepUp = TradesWriteStepUp
Approver = TradesApprove
OperatorAdmin = MarketOperateStepUp

__all__ = ["Approver", "OperatorAdmin", "Trader", "TraderStepUp"]
