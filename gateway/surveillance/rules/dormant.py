"""Dormant then large: a member idle for weeks returns with a repo far above its own usual size. A dormant or
sold-on account used as a vehicle, or a taken-over login."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from gateway.surveillance.rules.base import Tape
from gateway.surveillance.trades import DAY, Hit, Trade, Typology


@dataclass(frozen=True)
class DormantThenLarge:
    min_idle_days: float = 20.0
    size_multiple: float = 3.0  # times the member's median size
    name: str = "dormant_then_large"

    def check(self, trade: Trade, tape: Tape) -> Hit | None:
        history = tape.members.get(trade.member)
        if history is None or history.last_time is None or not history.sizes:
            return None
        idle_days = (trade.time - history.last_time) / DAY
        median = statistics.median(history.sizes)
        if idle_days < self.min_idle_days or trade.cash < self.size_multiple * median:
            return None
        return Hit(
            self.name,
            Typology.DORMANT_THEN_LARGE,
            (trade.trade_id,),
            min(1.0, trade.cash / (2 * self.size_multiple * median)),
            f"first repo after {idle_days:.0f} idle days, {trade.cash / median:.1f}× the member's median size",
        )
