"""What the demo asks for when it trades a repo: shared by the trading and cross-currency chapters."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.datadir import TokenInfo


@dataclass(frozen=True)
class TradeSpec:
    label: str
    collateral: TokenInfo
    collateral_amount: str
    price: str
    rate_percent: str
    haircut_bps: int
    term_seconds: int
    grace_seconds: int
    cash: TokenInfo | None = None  # the repo's currency: the demo's USD cash token unless given
