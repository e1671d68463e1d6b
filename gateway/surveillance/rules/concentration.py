"""Collateral concentration: within a day, one member's repos put most of their cash against one security, at a
size far above its usual day. Concentrating funding on one (often illiquid) issue can ramp its price or move
value through a haircut mispriced for it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from gateway.surveillance.rules.base import Tape
from gateway.surveillance.trades import DAY, Hit, Trade, Typology


@dataclass(frozen=True)
class CollateralConcentration:
    window_seconds: int = DAY
    min_share: float = 0.9  # of the member's cash in the window against this one collateral
    # defaults: no false alert on the synthetic market (seed 7); at 4 trades and 12x it raised 25 on normal trades
    min_trades: int = 5
    size_multiple: float = 20.0  # the window's cash on this collateral against the member's median repo
    min_history: int = 30
    name: str = "collateral_concentration"

    def check(self, trade: Trade, tape: Tape) -> Hit | None:
        sizes = tape.members[trade.member].sizes
        if len(sizes) < self.min_history:
            return None
        window = [t for t in tape.since(trade.time - self.window_seconds) if t.member == trade.member] + [trade]
        same = [t for t in window if t.collateral == trade.collateral]
        on_it, total = sum(t.cash for t in same), sum(t.cash for t in window)
        median = statistics.median(sizes)
        if len(same) < self.min_trades or on_it < self.min_share * total or on_it < self.size_multiple * median:
            return None
        return Hit(
            self.name,
            Typology.COLLATERAL_CONCENTRATION,
            tuple(t.trade_id for t in same),
            min(1.0, on_it / (2 * self.size_multiple * median)),
            f"{on_it / total:.0%} of {len(window)} repos' cash against {trade.collateral} in "
            f"{self.window_seconds // 3600} h, {on_it / median:.0f}× the member's median repo",
        )
