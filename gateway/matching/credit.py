"""Pre-trade credit limits per counterparty pair, checked before every match.

Each member sets a limit toward each other member (from its agreement with it); a pair with no limit cannot
trade. A match of ``amount`` between a lender and a borrower uses ``amount`` of the lender's limit toward the
borrower (cash at risk) and of the borrower's limit toward the lender (collateral beyond the cash, at risk if the
lender fails): both must have room. The names stay inside the matcher: the book answers members with depth only,
and a member learns its counterparty from its own fill."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.matching.exceptions import InvalidOrder


@dataclass(frozen=True, slots=True)
class Exposure:
    """A member's limit toward a counterparty and how much of it open matches use."""

    limit_units: int
    used_units: int

    @property
    def headroom_units(self) -> int:
        return max(0, self.limit_units - self.used_units)


class CreditLimits:
    """Limits and usage, keyed by (member, counterparty). Usage falls when a repo closes (``release``)."""

    def __init__(self) -> None:
        self._limits: dict[tuple[str, str], int] = {}
        self._used: dict[tuple[str, str], int] = {}

    def set_limit(self, *, member: str, counterparty: str, limit_units: int) -> None:
        if limit_units < 0:
            raise InvalidOrder("a credit limit cannot be negative")
        if member == counterparty:
            raise InvalidOrder("a member has no credit limit toward itself")
        self._limits[(member, counterparty)] = limit_units

    def exposure(self, *, member: str, counterparty: str) -> Exposure:
        key = (member, counterparty)
        return Exposure(limit_units=self._limits.get(key, 0), used_units=self._used.get(key, 0))

    def headroom(self, *, lender: str, borrower: str) -> int:
        """The largest match these two may still make: the smaller room of the two limits."""
        return min(
            self._limits.get((lender, borrower), 0) - self._used.get((lender, borrower), 0),
            self._limits.get((borrower, lender), 0) - self._used.get((borrower, lender), 0),
        )

    def use(self, *, lender: str, borrower: str, amount_units: int) -> None:
        for key in ((lender, borrower), (borrower, lender)):
            self._used[key] = self._used.get(key, 0) + amount_units

    def release(self, *, lender: str, borrower: str, amount_units: int) -> None:
        """A matched repo closed (or failed to open): its amount no longer counts against either limit."""
        for key in ((lender, borrower), (borrower, lender)):
            self._used[key] = max(0, self._used.get(key, 0) - amount_units)
