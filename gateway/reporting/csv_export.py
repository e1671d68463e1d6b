"""The daily report as CSV (one row per record, ``records.COLUMNS`` as header), and back: reconciliation reads a
counterparty's or the member's own file in this shape."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from gateway.reporting.exceptions import ReportFileUnreadable
from gateway.reporting.records import COLUMNS, ActionType, CollateralType, ReportRecord, Side, as_row


def to_csv(records: list[ReportRecord]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(as_row(record))
    return out.getvalue()


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def from_csv(text: str) -> list[ReportRecord]:
    """Records from a CSV written by ``to_csv`` (or by a member's system in the same columns)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = set(COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise ReportFileUnreadable(f"missing columns: {', '.join(sorted(missing))}")
    records = []
    for n, row in enumerate(reader, start=2):
        try:
            event_date, value_date = _date(row["event_date"]), _date(row["value_date"])
            if event_date is None or value_date is None:
                raise ValueError("event_date and value_date are required")
            records.append(
                ReportRecord(
                    uti=row["uti"],
                    reporting_counterparty=row["reporting_counterparty"],
                    other_counterparty=row["other_counterparty"],
                    counterparty_side=Side(row["counterparty_side"]),
                    action_type=ActionType(row["action_type"]),
                    event_date=event_date,
                    execution_timestamp=datetime.strptime(row["execution_timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
                        tzinfo=UTC
                    ),
                    value_date=value_date,
                    maturity_date=_date(row["maturity_date"]),
                    termination_date=_date(row["termination_date"]),
                    cash_currency=row["cash_currency"],
                    principal_amount=row["principal_amount"],
                    fixed_rate=row["fixed_rate"],
                    day_count=row["day_count"],
                    collateral_type=CollateralType(row["collateral_type"]),
                    collateral_isin=row["collateral_isin"],
                    collateral_quantity=row["collateral_quantity"],
                    collateral_price=row["collateral_price"],
                    collateral_market_value=row["collateral_market_value"],
                    haircut=row["haircut"],
                    collateral_currency=row["collateral_currency"],
                    cash_margin=row["cash_margin"],
                    margin_call_outstanding=row["margin_call_outstanding"],
                    repo_id=int(row["repo_id"]),
                    event=row["event"],
                    block_number=int(row["block_number"]),
                    log_index=int(row["log_index"]),
                    tx_hash=row["tx_hash"],
                )
            )
        except (ValueError, KeyError) as exc:
            raise ReportFileUnreadable(f"row {n}: {exc}") from None
    return records
