"""Off-market rates: a repo rate far from the reference rate the operator posts for the currency and tenor. Moves
value between the two sides under cover of a repo (a gift of interest), or marks a book at a false price."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.surveillance.rules.base import Tape
from gateway.surveillance.trades import Hit, Trade, Typology


@dataclass(frozen=True)
class OffMarket:
    max_spread_bps: float = 60.0
    name: str = "off_market"

    def check(self, trade: Trade, tape: Tape) -> Hit | None:
        spread = trade.rate_bps - trade.reference_bps
        if abs(spread) <= self.max_spread_bps:
            return None
        return Hit(
            self.name,
            Typology.OFF_MARKET,
            (trade.trade_id,),
            min(1.0, abs(spread) / (2 * self.max_spread_bps)),
            f"rate {trade.rate_bps:.0f} bps is {spread:+.0f} bps from the reference {trade.reference_bps:.0f} bps",
        )
