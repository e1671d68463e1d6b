"""What surveillance watches: a repo trade as one member booked it, and the hits raised on it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

DAY = 86_400


class Side(enum.StrEnum):
    """The booking member's side: ``borrow`` = it sells the collateral and borrows cash (the repo seller)."""

    BORROW = "borrow"
    LEND = "lend"


class Typology(enum.StrEnum):
    """The suspicious patterns the synthetic market injects and the rules target; ``normal`` for everything else."""

    NORMAL = "normal"
    WASH = "wash"
    ROUND_TRIP = "round_trip"
    OFF_MARKET = "off_market"
    LAYERING = "layering"
    DORMANT_THEN_LARGE = "dormant_then_large"
    # live rules the synthetic market does not inject (measured only for their false alerts on normal trades)
    SIZE_OUTLIER = "size_outlier"
    NEW_COUNTERPARTY_AT_SIZE = "new_counterparty_at_size"
    COLLATERAL_CONCENTRATION = "collateral_concentration"


@dataclass(frozen=True)
class Trade:
    """One repo as the booking member agreed it. Cash in currency units; rates in basis points a year."""

    trade_id: str
    time: int  # seconds since the epoch
    member: str
    counterparty: str
    side: Side
    cash: float
    rate_bps: float
    reference_bps: float  # the operator's reference rate for the currency and tenor at the trade's time
    tenor_days: int
    haircut_bps: int
    collateral: str

    @property
    def seller(self) -> str:
        """Who delivers the collateral (and receives the cash)."""
        return self.member if self.side is Side.BORROW else self.counterparty

    @property
    def buyer(self) -> str:
        return self.counterparty if self.side is Side.BORROW else self.member

    @property
    def day(self) -> int:
        return self.time // DAY


@dataclass(frozen=True)
class Hit:
    """A rule's finding: the trades it implicates, a score in [0, 1] and why."""

    rule: str
    typology: Typology
    trade_ids: tuple[str, ...]
    score: float
    reason: str


def trade_from_json(row: dict[str, object]) -> Trade:
    """A trade from one line of the market's JSON lines (extra keys, such as a label, are ignored)."""
    return Trade(
        trade_id=str(row["trade_id"]),
        time=int(str(row["time"])),
        member=str(row["member"]),
        counterparty=str(row["counterparty"]),
        side=Side(str(row["side"])),
        cash=float(str(row["cash"])),
        rate_bps=float(str(row["rate_bps"])),
        reference_bps=float(str(row["reference_bps"])),
        tenor_days=int(str(row["tenor_days"])),
        haircut_bps=int(str(row["haircut_bps"])),
        collateral=str(row["collateral"]),
    )
