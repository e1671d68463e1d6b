"""Wash trades: a repo that a later repo between the same two members undoes (same collateral, the other way round,
the same cash within a tolerance, soon after). Net nothing moved; volume, rates or balances were painted."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.surveillance.rules.base import Tape
from gateway.surveillance.trades import Hit, Trade, Typology


@dataclass(frozen=True)
class WashTrade:
    window_seconds: int = 3_600
    cash_tolerance: float = 0.02  # relative difference of cash that still counts as the same terms
    name: str = "wash_trade"

    def check(self, trade: Trade, tape: Tape) -> Hit | None:
        for earlier in tape.since(trade.time - self.window_seconds):
            if (
                earlier.seller == trade.buyer
                and earlier.buyer == trade.seller
                and earlier.collateral == trade.collateral
                and abs(earlier.cash - trade.cash) <= self.cash_tolerance * max(earlier.cash, trade.cash)
            ):
                minutes = (trade.time - earlier.time) / 60
                return Hit(
                    self.name,
                    Typology.WASH,
                    (earlier.trade_id, trade.trade_id),
                    1.0 - abs(earlier.cash - trade.cash) / max(earlier.cash, trade.cash),
                    f"{trade.trade_id} reverses {earlier.trade_id} ({trade.collateral}) after {minutes:.0f} min",
                )
        return None
