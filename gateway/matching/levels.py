"""One side of one instrument's book: price levels best first, orders within a level oldest first.

A level is an insertion-ordered dict (time priority, O(1) removal on cancel); the level keys are kept sorted in a
list (bisect), ascending for lenders (the lowest rate offered is best for a borrower) and by negated rate for
borrowers (the highest rate bid is best for a lender)."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.matching.orders import Order, Side


@dataclass(slots=True)
class Resting:
    """A live order in the book: its signed limits, what is filled, and its time priority."""

    order: Order
    filled_units: int
    priority: int

    @property
    def remaining_units(self) -> int:
        return self.order.size_units - self.filled_units


@dataclass(frozen=True, slots=True)
class DepthLevel:
    """Anonymous depth: a rate, the cash resting at it and how many orders."""

    rate_e18: int
    total_units: int
    orders: int


class BookSide:
    def __init__(self, side: Side) -> None:
        self.side = side
        self._keys: list[int] = []
        self._levels: dict[int, dict[str, Resting]] = {}

    def _key(self, rate_e18: int) -> int:
        return rate_e18 if self.side is Side.LEND else -rate_e18

    def _rate(self, key: int) -> int:
        return key if self.side is Side.LEND else -key

    def add(self, resting: Resting) -> None:
        key = self._key(resting.order.rate_e18)
        level = self._levels.get(key)
        if level is None:
            level = self._levels[key] = {}
            bisect.insort(self._keys, key)
        level[resting.order.order_id] = resting

    def remove(self, order: Order) -> None:
        key = self._key(order.rate_e18)
        level = self._levels[key]
        del level[order.order_id]
        if not level:
            del self._levels[key]
            del self._keys[bisect.bisect_left(self._keys, key)]

    def best_first(self) -> Iterator[tuple[int, dict[str, Resting]]]:
        """(rate, level) from the best rate on; stable while the caller does not remove levels."""
        for key in self._keys:
            yield self._rate(key), self._levels[key]

    def best_rate(self) -> int | None:
        return self._rate(self._keys[0]) if self._keys else None

    def orders(self) -> Iterator[Resting]:
        for key in self._keys:
            yield from self._levels[key].values()

    def depth(self, levels: int) -> list[DepthLevel]:
        out: list[DepthLevel] = []
        for key in self._keys[:levels]:
            level = self._levels[key]
            total = sum(resting.remaining_units for resting in level.values())
            out.append(DepthLevel(rate_e18=self._rate(key), total_units=total, orders=len(level)))
        return out
