"""``reponet report``: ``daily`` writes a member's SFTR report file of a day (XML validated against the shipped
XSD, or CSV) from the gateway's database; ``corrections`` writes the CORR records of a day already reported (its
CSV as sent) that the events now give differently; ``reconcile`` pairs two sides' CSV report files by UTI and lists
the breaks (exit status REFUSED when there is any); ``validate`` checks an XML file against the schema."""

from __future__ import annotations

import argparse
import json
import uuid
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.db.models import Organization
from gateway.db.session import make_engine, make_session_factory
from gateway.exit_status import ExitStatus
from gateway.reporting import service
from gateway.reporting.csv_export import from_csv
from gateway.reporting.exceptions import ReportingError
from gateway.reporting.reconcile import reconcile
from gateway.reporting.service import FileFormat
from gateway.reporting.xml_export import validation_errors


def _member(session: Session, text: str) -> uuid.UUID:
    """A member named by its id or its LEI."""
    try:
        return uuid.UUID(text)
    except ValueError:
        found = session.scalars(select(Organization.id).where(Organization.lei == text.upper())).first()
        if found is None:
            raise SystemExit(f"no member with id or LEI {text!r}") from None
        return uuid.UUID(str(found))


def cmd_daily(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    engine = make_engine(settings.database_url, read_only=True)
    try:
        with make_session_factory(engine)() as session:
            org_id = _member(session, args.member)
            body = service.daily_file(
                session, org_id=org_id, day=date.fromisoformat(args.date), file_format=FileFormat(args.format)
            )
    except ReportingError as exc:
        print(f"report refused: {exc.detail}")
        return ExitStatus.REFUSED
    finally:
        engine.dispose()
    if args.out:
        Path(args.out).write_bytes(body)
        print(f"wrote {args.out} ({len(body)} bytes)")
    else:
        print(body.decode(), end="")
    return ExitStatus.OK


def cmd_corrections(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    engine = make_engine(settings.database_url, read_only=True)
    try:
        reported = from_csv(Path(args.reported).read_text())
        with make_session_factory(engine)() as session:
            org_id = _member(session, args.member)
            body, count = service.corrections_file(
                session,
                org_id=org_id,
                day=date.fromisoformat(args.date),
                reported=reported,
                file_format=FileFormat(args.format),
            )
    except ReportingError as exc:
        print(f"corrections refused: {exc.detail}")
        return ExitStatus.REFUSED
    finally:
        engine.dispose()
    if args.out:
        Path(args.out).write_bytes(body)
        print(f"wrote {args.out}: {count} corrections ({len(body)} bytes)")
    else:
        print(body.decode(), end="")
    return ExitStatus.OK


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    try:
        result = reconcile(from_csv(Path(args.ours).read_text()), from_csv(Path(args.theirs).read_text()))
    except ReportingError as exc:
        print(f"reconciliation refused: {exc.detail}")
        return ExitStatus.REFUSED
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        print(f"paired {result.paired}, matched {result.matched}, breaks {len(result.breaks)}")
        for b in result.breaks:
            print(f"  {b.uti} {b.kind.value} {b.field} ours={b.ours!r} theirs={b.theirs!r}")
    return ExitStatus.REFUSED if result.breaks else ExitStatus.OK


def cmd_validate(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    errors = validation_errors(Path(args.file).read_bytes())
    print("valid" if not errors else "\n".join(errors))
    return ExitStatus.REFUSED if errors else ExitStatus.OK


def register(top: Any) -> None:
    report = top.add_parser("report", help="regulatory (SFTR) reports: daily files, validation, reconciliation")
    commands = report.add_subparsers(dest="command", required=True)
    daily = commands.add_parser("daily", help="a member's report file of one day")
    daily.add_argument("--member", required=True, help="organization id or LEI")
    daily.add_argument("--date", required=True, help="reporting day (UTC), YYYY-MM-DD")
    daily.add_argument("--format", choices=[f.value for f in FileFormat], default=FileFormat.XML.value)
    daily.add_argument("--out", help="file to write (default: standard output)")
    daily.set_defaults(handler=cmd_daily)
    fix = commands.add_parser("corrections", help="CORR records of a day reported before, where the events differ now")
    fix.add_argument("--member", required=True, help="organization id or LEI")
    fix.add_argument("--date", required=True, help="reporting day (UTC), YYYY-MM-DD")
    fix.add_argument("--reported", required=True, help="the day's records as reported (the daily CSV sent)")
    fix.add_argument("--format", choices=[f.value for f in FileFormat], default=FileFormat.XML.value)
    fix.add_argument("--out", help="file to write (default: standard output)")
    fix.set_defaults(handler=cmd_corrections)
    check = commands.add_parser("validate", help="validate an XML report file against the shipped XSD")
    check.add_argument("file")
    check.set_defaults(handler=cmd_validate)
    rec = commands.add_parser("reconcile", help="pair two sides' CSV report files by UTI; list the breaks")
    rec.add_argument("--ours", required=True)
    rec.add_argument("--theirs", required=True)
    rec.set_defaults(handler=cmd_reconcile)
