"""Layering through many small repos: one member books many repos, each small for it, with several counterparties
in a short window. Splitting a large transfer under thresholds (structuring) or spreading it to blur its trail."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from gateway.surveillance.rules.base import Tape
from gateway.surveillance.trades import Hit, Trade, Typology


@dataclass(frozen=True)
class Layering:
    window_seconds: int = 4 * 3_600
    min_trades: int = 6
    min_counterparties: int = 4
    small_fraction: float = 0.35  # "small": below this fraction of the member's median size
    min_history: int = 10  # trades of history needed to know what is small for the member
    name: str = "layering"

    def check(self, trade: Trade, tape: Tape) -> Hit | None:
        history = tape.members[trade.member].sizes
        if len(history) < self.min_history:
            return None
        limit = self.small_fraction * statistics.median(history)
        if trade.cash >= limit:
            return None
        burst = [
            t for t in tape.since(trade.time - self.window_seconds) if t.member == trade.member and t.cash < limit
        ] + [trade]
        counterparties = {t.counterparty for t in burst}
        if len(burst) < self.min_trades or len(counterparties) < self.min_counterparties:
            return None
        return Hit(
            self.name,
            Typology.LAYERING,
            tuple(t.trade_id for t in burst),
            min(1.0, len(burst) / (2 * self.min_trades)),
            f"{len(burst)} repos under {limit:,.0f} with {len(counterparties)} counterparties within "
            f"{self.window_seconds // 3600} h",
        )
