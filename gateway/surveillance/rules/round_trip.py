"""Round-tripping: collateral that travels through two or more members and comes back to where it started within a
window, each leg for about the same cash (A→B→C→A). It hides who funds whom, or moves value through a chain of
apparently unrelated repos. Two legs (A→B→A) are the wash-trade rule's."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.surveillance.rules.base import Tape
from gateway.surveillance.trades import Hit, Trade, Typology


@dataclass(frozen=True)
class RoundTrip:
    window_seconds: int = 6 * 3_600
    cash_tolerance: float = 0.03
    max_legs: int = 5  # longest cycle looked for, the new trade included
    name: str = "round_trip"

    def check(self, trade: Trade, tape: Tape) -> Hit | None:
        legs = [
            t
            for t in tape.since(trade.time - self.window_seconds)
            if t.collateral == trade.collateral
            and abs(t.cash - trade.cash) <= self.cash_tolerance * max(t.cash, trade.cash)
        ]
        path = self._path(legs, start=trade.buyer, goal=trade.seller, depth=self.max_legs - 1, seen=(trade.seller,))
        if path is None or len(path) < 2:
            return None
        ids = (*(t.trade_id for t in path), trade.trade_id)
        route = " → ".join([path[0].seller, *(t.buyer for t in path), trade.buyer])
        return Hit(self.name, Typology.ROUND_TRIP, ids, 1.0, f"{trade.collateral} went {route} within the window")

    def _path(self, legs: list[Trade], start: str, goal: str, depth: int, seen: tuple[str, ...]) -> list[Trade] | None:
        """Earlier legs moving the collateral from ``start`` on to ``goal``, in time order, or None."""
        if depth <= 0:
            return None
        for leg in legs:
            if leg.seller != start:
                continue
            if leg.buyer == goal:
                return [leg]
            if leg.buyer in seen:
                continue
            rest = self._path([t for t in legs if t.time >= leg.time], leg.buyer, goal, depth - 1, (*seen, leg.buyer))
            if rest is not None:
                return [leg, *rest]
        return None
