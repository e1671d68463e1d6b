"""Size against the member's own history, and a new counterparty at size.

``SizeOutlier``: a repo many times the member's usual size (its own median, not the market's): a limit breach,
a fat-finger error, or a one-off transfer of value hidden in normal business. ``NewCounterpartyAtSize``: a first
repo with a counterparty, already well above the member's usual size: a relationship opened to move value at once
rather than built up (mule or nominee counterparties)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from gateway.surveillance.rules.base import Tape
from gateway.surveillance.trades import Hit, Trade, Typology


@dataclass(frozen=True)
class SizeOutlier:
    size_multiple: float = 8.0  # times the member's median size
    min_history: int = 30  # trades of the member's history before its median means anything
    name: str = "size_outlier"

    def check(self, trade: Trade, tape: Tape) -> Hit | None:
        sizes = tape.members[trade.member].sizes
        if len(sizes) < self.min_history:
            return None
        median = statistics.median(sizes)
        if trade.cash < self.size_multiple * median:
            return None
        return Hit(
            self.name,
            Typology.SIZE_OUTLIER,
            (trade.trade_id,),
            min(1.0, trade.cash / (2 * self.size_multiple * median)),
            f"{trade.cash / median:.1f}× the member's median size over {len(sizes)} trades",
        )


@dataclass(frozen=True)
class NewCounterpartyAtSize:
    size_multiple: float = 5.0
    min_history: int = 30
    name: str = "new_counterparty_at_size"

    def check(self, trade: Trade, tape: Tape) -> Hit | None:
        history = tape.members[trade.member]
        if len(history.sizes) < self.min_history or trade.counterparty in history.counterparties:
            return None
        median = statistics.median(history.sizes)
        if trade.cash < self.size_multiple * median:
            return None
        return Hit(
            self.name,
            Typology.NEW_COUNTERPARTY_AT_SIZE,
            (trade.trade_id,),
            min(1.0, trade.cash / (2 * self.size_multiple * median)),
            f"first repo with {trade.counterparty}, {trade.cash / median:.1f}× the member's median size",
        )
