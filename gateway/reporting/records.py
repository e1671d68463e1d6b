"""The report record: SFTR's repo fields (RTS 2019/356 annex, tables 1 and 2) that a RepoNet repo has, one record
per repo event, as the reporting counterparty sees it. ``COLUMNS`` is the CSV's header and the XML's field order."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import StrEnum


class ActionType(StrEnum):
    """Field 2.98. NEWT new, MODI modification, VALU collateral valuation, COLU collateral update, ETRM early
    termination (here: every termination, a repurchase at maturity included), CORR correction."""

    NEWT = "NEWT"
    MODI = "MODI"
    VALU = "VALU"
    COLU = "COLU"
    ETRM = "ETRM"
    CORR = "CORR"


class Side(StrEnum):
    """Field 1.10 counterparty side: the seller gives collateral (GIVE), the buyer takes it (TAKE)."""

    GIVE = "GIVE"
    TAKE = "TAKE"


class CollateralType(StrEnum):
    """Field 2.94 type of collateral component: a listed security, or cash posted as margin."""

    SECU = "SECU"
    CASH = "CASH"


@dataclass(frozen=True)
class ReportRecord:
    """One SFTR repo report (level TCTN, type REPO). Amounts, prices and rates are decimal strings, exact."""

    uti: str  # 2.1
    reporting_counterparty: str  # 1.3, LEI
    other_counterparty: str  # 1.11, LEI
    counterparty_side: Side  # 1.10
    action_type: ActionType  # 2.98
    event_date: date  # 2.99
    execution_timestamp: datetime  # 2.14, UTC
    value_date: date  # 2.13
    maturity_date: date | None  # 2.15; None: open term (2.17 OPEN)
    termination_date: date | None  # 2.16
    cash_currency: str  # 2.34
    principal_amount: str  # 2.37 principal on value date
    fixed_rate: str  # 2.23, annual percent
    day_count: str  # 2.24, A360 | A365
    collateral_type: CollateralType  # 2.94
    collateral_isin: str  # 2.78
    collateral_quantity: str  # 2.83 quantity or nominal
    collateral_price: str  # 2.87 price per unit, in the collateral currency ("" when no price is indexed)
    collateral_market_value: str  # 2.88 ("" when no price is indexed)
    haircut: str  # 2.89, percent
    collateral_currency: str  # 2.85
    cash_margin: str  # cash posted as margin on this repo (SFTR table 3's variation margin, simplified)
    margin_call_outstanding: str
    repo_id: int
    event: str
    block_number: int
    log_index: int
    tx_hash: str


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ReportRecord))


def cell(value: object) -> str:
    """A field as the CSV and the XML write it: dates ISO 8601, timestamps with Z, absent as empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def as_row(record: ReportRecord) -> dict[str, str]:
    return {name: cell(getattr(record, name)) for name in COLUMNS}
