"""Round-tripping: collateral that travels through two or more members and comes back to where it started within a
window, each leg for about the same cash (A→B→C→A). It hides who funds whom, or moves value through a chain of
apparently unrelated repos. Two legs (A→B→A) are the wash-trade rule's."""

from __future__ import annotations

import math
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
        depth = self.max_legs - 1
        reach = _latest_departures(legs, goal=trade.seller, depth=depth)
        path = self._path(legs, reach, start=trade.buyer, goal=trade.seller, depth=depth, seen=(trade.seller,))
        if path is None or len(path) < 2:
            return None
        ids = (*(t.trade_id for t in path), trade.trade_id)
        route = " → ".join([path[0].seller, *(t.buyer for t in path), trade.buyer])
        return Hit(self.name, Typology.ROUND_TRIP, ids, 1.0, f"{trade.collateral} went {route} within the window")

    def _path(
        self, legs: list[Trade], reach: list[dict[str, float]], start: str, goal: str, depth: int, seen: tuple[str, ...]
    ) -> list[Trade] | None:
        """Earlier legs moving the collateral from ``start`` on to ``goal``, in time order, or None. A leg is
        followed only when ``reach`` says the goal can still be reached from where it lands: without that, a tape of
        many similar legs and no way back (a busy market) is searched leg to the power of the depth."""
        if depth <= 0:
            return None
        for leg in legs:
            if leg.seller != start:
                continue
            if leg.buyer == goal:
                return [leg]
            if leg.buyer in seen or leg.time > reach[depth - 1].get(leg.buyer, -math.inf):
                continue
            later = [t for t in legs if t.time >= leg.time]
            rest = self._path(later, reach, leg.buyer, goal, depth - 1, (*seen, leg.buyer))
            if rest is not None:
                return [leg, *rest]
        return None


def _latest_departures(legs: list[Trade], goal: str, depth: int) -> list[dict[str, float]]:
    """For r = 0 .. depth - 1 legs: by member, the latest time a leg can leave it and still reach ``goal`` in at most
    r legs, each no earlier than the one before (a member missing from the map cannot reach it at all). A time-ordered
    path exists only if such a chain of legs does, so a leg that lands where it cannot is never followed."""
    reach: list[dict[str, float]] = [{goal: math.inf}]
    for _ in range(1, depth):
        previous, latest = reach[-1], dict(reach[-1])
        for leg in legs:
            if leg.time <= previous.get(leg.buyer, -math.inf) and leg.time > latest.get(leg.seller, -math.inf):
                latest[leg.seller] = leg.time
        reach.append(latest)
    return reach
