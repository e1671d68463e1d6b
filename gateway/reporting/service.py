"""The daily file of a member: its records of the day (both sides, if it was both), as XML and CSV; the
reconciliation of its records against its counterparties' records of the same repos; and the corrections (CORR) of
a day's records reported earlier that the events now give differently."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from gateway.reporting import repository
from gateway.reporting.corrections import corrections
from gateway.reporting.csv_export import to_csv
from gateway.reporting.derive import records_of
from gateway.reporting.reconcile import Reconciliation, reconcile
from gateway.reporting.records import ReportRecord, Side
from gateway.reporting.uti import validate_lei
from gateway.reporting.xml_export import Header, document


class FileFormat(StrEnum):
    XML = "xml"
    CSV = "csv"


@dataclass(frozen=True)
class DailyRecords:
    member_lei: str
    day: date
    ours: list[ReportRecord]  # as the member reports them
    theirs: list[ReportRecord]  # as its counterparties report the same events


def daily_records(session: Session, *, org_id: uuid.UUID, day: date) -> DailyRecords:
    lei = validate_lei(repository.member_lei(session, org_id), whose="member")
    listed, priced, history = (
        repository.instruments(session),
        repository.prices(session),
        repository.price_history(session),
    )
    ours: list[ReportRecord] = []
    theirs: list[ReportRecord] = []
    for h in repository.histories(session, org_id, day):
        for side, org in ((Side.GIVE, h.seller_org), (Side.TAKE, h.buyer_org)):
            records = [
                r
                for r in records_of(h.parties, h.events, side=side, instruments=listed, prices=priced, history=history)
                if r.event_date == day
            ]
            (ours if org == org_id else theirs).extend(records)
    return DailyRecords(lei, day, ours, theirs)


def _file(lei: str, day: date, records: list[ReportRecord], file_format: FileFormat, suffix: str = "") -> bytes:
    if file_format is FileFormat.CSV:
        return to_csv(records).encode()
    header = Header(
        report_number=f"{lei}-{day.isoformat()}{suffix}",
        created_at=datetime.now(UTC).replace(microsecond=0),
        reporting_date=day,
        member_lei=lei,
    )
    return document(header, records)


def daily_file(session: Session, *, org_id: uuid.UUID, day: date, file_format: FileFormat) -> bytes:
    """The member's report file of ``day``: XML validated against the shipped XSD, or CSV."""
    daily = daily_records(session, org_id=org_id, day=day)
    return _file(daily.member_lei, day, daily.ours, file_format)


def corrections_file(
    session: Session, *, org_id: uuid.UUID, day: date, reported: list[ReportRecord], file_format: FileFormat
) -> tuple[bytes, int]:
    """The CORR records of ``day`` against the records the member reported for it (its day's file as sent, in
    CSV), as a file like the daily one, and how many there are."""
    daily = daily_records(session, org_id=org_id, day=day)
    fixes = corrections(reported, daily.ours)
    return _file(daily.member_lei, day, fixes, file_format, "-CORR"), len(fixes)


def daily_reconciliation(session: Session, *, org_id: uuid.UUID, day: date) -> Reconciliation:
    daily = daily_records(session, org_id=org_id, day=day)
    return reconcile(daily.ours, daily.theirs)
