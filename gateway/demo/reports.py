"""The demo's reporting chapter: compliance fetches each demo member's daily SFTR report file for every day the
story touched, checks it against the schema the project ships, keeps it in the data directory
(``reports/sftr-<LEI>-<day>.xml``) and reconciles the member's reports with its counterparties'."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lxml import etree

from gateway.demo.exceptions import DemoError
from gateway.demo.stage import Stage
from gateway.ops.client import ApiError, UserSession
from gateway.reporting.xml_export import NAMESPACE, validation_errors


def _days(stage: Stage) -> list[date]:
    first = int(stage.w3.eth.get_block(stage.start_block)["timestamp"])
    last = int(stage.w3.eth.get_block("latest")["timestamp"])
    day, end = datetime.fromtimestamp(first, UTC).date(), datetime.fromtimestamp(last, UTC).date()
    out = []
    while day <= end:
        out.append(day)
        day += timedelta(days=1)
    return out


def _get_indexed(compliance: UserSession, path: str, params: dict[str, str], timeout: float = 120.0) -> Any:
    """A read that reflects at least ``params["min_block"]``: the gateway answers 409 while its indexer is behind."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return compliance.get(path, params=params)
        except ApiError as exc:
            if exc.status != 409 or time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def sftr_reports(stage: Stage, compliance: UserSession) -> dict[str, Any]:
    stage.chapter("Regulatory reports (SFTR) are filed and reconciled")
    folder = stage.net.dir.path / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    records = breaks = 0
    head = str(stage.w3.eth.block_number)  # every step of the story is in a block up to here: wait for the indexer
    for member in stage.members.values():
        for day in _days(stage):
            params = {"date": day.isoformat(), "min_block": head}
            xml = str(_get_indexed(compliance, f"/v1/organizations/{member.org_id}/reports/sftr/daily", params))
            errors = validation_errors(xml.encode())
            if errors:
                raise DemoError(f"{member.name}'s report of {day} does not validate: {errors[:3]}")
            count = sum(1 for _ in etree.fromstring(xml.encode()).iter(f"{{{NAMESPACE}}}Rpt"))
            if not count:
                continue
            path = folder / f"sftr-{member.lei}-{day.isoformat()}.xml"
            path.write_text(xml)
            rec = _get_indexed(compliance, f"/v1/organizations/{member.org_id}/reports/sftr/reconciliation", params)
            records += count
            breaks += len(rec["breaks"])
            files.append(str(path))
            stage.say(
                f"{member.name}: {count} SFTR records of {day} [green]valid against the schema[/green] → {path.name}; "
                f"reconciled with the counterparties: {rec['paired']} paired, {len(rec['breaks'])} breaks"
            )
    return {"files": files, "records": records, "breaks": breaks, "valid": True}
