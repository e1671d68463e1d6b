"""Reconciliation of the two sides' reports, as a trade repository does it: pair by UTI (each side's latest
record of the trade), then compare the fields both must agree on, within tolerances; what does not pair or agree
is a break. Tolerances (``TOLERANCES``): rates and haircuts 0.0001 percentage points; principal, cash margin and
outstanding call 0.01 of the currency; collateral price and market value 0.05 % relative (two sides may value
with prices a few minutes apart); everything else exact. Party fields are compared crosswise (my reporting
counterparty is your other counterparty) and the sides must be opposite."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from gateway.reporting.records import ReportRecord, Side, cell


class BreakKind(StrEnum):
    ONLY_OURS = "only_ours"  # we reported the UTI, the other side did not
    ONLY_THEIRS = "only_theirs"
    FIELD = "field"  # paired, but this field differs beyond tolerance


@dataclass(frozen=True)
class Tolerance:
    absolute: Decimal = Decimal(0)
    relative: Decimal = Decimal(0)

    def agrees(self, ours: Decimal, theirs: Decimal) -> bool:
        limit = max(self.absolute, self.relative * max(abs(ours), abs(theirs)))
        return abs(ours - theirs) <= limit


TOLERANCES: dict[str, Tolerance] = {
    "principal_amount": Tolerance(absolute=Decimal("0.01")),
    "fixed_rate": Tolerance(absolute=Decimal("0.0001")),
    "haircut": Tolerance(absolute=Decimal("0.0001")),
    "collateral_quantity": Tolerance(),
    "collateral_price": Tolerance(relative=Decimal("0.0005")),
    "collateral_market_value": Tolerance(relative=Decimal("0.0005")),
    "cash_margin": Tolerance(absolute=Decimal("0.01")),
    "margin_call_outstanding": Tolerance(absolute=Decimal("0.01")),
}
EXACT = (
    "execution_timestamp",
    "value_date",
    "maturity_date",
    "termination_date",
    "cash_currency",
    "day_count",
    "collateral_type",
    "collateral_isin",
    "collateral_currency",
)


@dataclass(frozen=True)
class Break:
    uti: str
    kind: BreakKind
    field: str = ""
    ours: str = ""
    theirs: str = ""


@dataclass(frozen=True)
class Reconciliation:
    paired: int
    matched: int
    breaks: list[Break] = field(default_factory=list)


def _latest(records: Iterable[ReportRecord]) -> dict[str, ReportRecord]:
    latest: dict[str, ReportRecord] = {}
    for r in records:
        held = latest.get(r.uti)
        if held is None or (r.block_number, r.log_index) >= (held.block_number, held.log_index):
            latest[r.uti] = r
    return latest


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def field_breaks(ours: ReportRecord, theirs: ReportRecord) -> list[Break]:
    """What two paired records disagree on."""
    out = []

    def differ(name: str, a: str, b: str) -> None:
        out.append(Break(ours.uti, BreakKind.FIELD, name, a, b))

    if ours.reporting_counterparty != theirs.other_counterparty:
        differ("reporting_counterparty", ours.reporting_counterparty, theirs.other_counterparty)
    if ours.other_counterparty != theirs.reporting_counterparty:
        differ("other_counterparty", ours.other_counterparty, theirs.reporting_counterparty)
    expected = Side.TAKE if ours.counterparty_side is Side.GIVE else Side.GIVE
    if theirs.counterparty_side is not expected:
        differ("counterparty_side", ours.counterparty_side.value, theirs.counterparty_side.value)
    for name in EXACT:
        a, b = cell(getattr(ours, name)), cell(getattr(theirs, name))
        if a != b:
            differ(name, a, b)
    for name, tolerance in TOLERANCES.items():
        a, b = getattr(ours, name), getattr(theirs, name)
        x, y = _decimal(a), _decimal(b)
        if x is None or y is None:
            if a != b:
                differ(name, a, b)
        elif not tolerance.agrees(x, y):
            differ(name, a, b)
    return out


def reconcile(ours: Iterable[ReportRecord], theirs: Iterable[ReportRecord]) -> Reconciliation:
    """Pair ``ours`` and ``theirs`` by UTI and list the breaks, UTIs in order."""
    mine, other = _latest(ours), _latest(theirs)
    breaks: list[Break] = []
    paired = matched = 0
    for uti in sorted(mine.keys() | other.keys()):
        if uti not in other:
            breaks.append(Break(uti, BreakKind.ONLY_OURS))
        elif uti not in mine:
            breaks.append(Break(uti, BreakKind.ONLY_THEIRS))
        else:
            paired += 1
            found = field_breaks(mine[uti], other[uti])
            matched += not found
            breaks.extend(found)
    return Reconciliation(paired=paired, matched=matched, breaks=breaks)
