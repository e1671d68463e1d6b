"""``reponet surveillance alerts|cases ...``: the compliance officer's work queue from the command line, through
the gateway's API as the local compliance user ``reponet up`` created (every step authorised and audited like a
person's; a high-severity close needs a second person, so a second officer confirms it in the web app or API)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gateway.ops.cli import command
from gateway.ops.network import COMPLIANCE_USER, Network


def alerts_list(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    rows = net.session(COMPLIANCE_USER).get("/v1/surveillance/alerts", params={"limit": args.limit})["data"]
    lines = [f"{'observed at':25} {'severity':8} {'detector':24} {'case':36}  reason"]
    lines += [
        f"{a['observed_at'][:25]:25} {a['severity']:8} {a['detector'][:24]:24} {a['case_id'] or '-':36}  {a['reason']}"
        for a in rows
    ]
    return {"data": rows}, "\n".join(lines) if rows else "no alerts"


def cases_list(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    params = {"status": args.status} if args.status else {}
    rows = net.session(COMPLIANCE_USER).get("/v1/surveillance/cases", params=params)["data"]
    lines = [f"{'case':8} {'id':36}  {'severity':8} {'status':16} subject"]
    lines += [f"SC-{c['number']:<5} {c['id']:36}  {c['severity']:8} {c['status']:16} {c['subject']}" for c in rows]
    return {"data": rows}, "\n".join(lines) if rows else "no cases"


def _summary(case: dict[str, Any]) -> str:
    head = f"SC-{case['number']} {case['id']}: {case['severity']}, {case['status']}, subject {case['subject']}"
    alerts = [f"  alert [{a['detector']}] {a['reason']}" for a in case.get("alerts", [])]
    entries = [
        f"  {e['at'][:19]} {e['kind']:16} {e['actor']}  {json.dumps(e['body'])}" for e in case.get("entries", [])
    ]
    return "\n".join([head, *alerts, *entries])


def case_show(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    case = net.session(COMPLIANCE_USER).get(f"/v1/surveillance/cases/{args.case}")
    return case, _summary(case)


def _act(args: argparse.Namespace, net: Network, action: str, body: dict[str, Any]) -> tuple[Any, str]:
    case = net.session(COMPLIANCE_USER).post(f"/v1/surveillance/cases/{args.case}/{action}", body=body)
    return case, _summary(case)


def case_assign(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    return _act(args, net, "assign", {"assignee": args.to})


def case_comment(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    return _act(args, net, "comments", {"text": args.text})


def case_evidence(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    body = {"name": args.name, "description": args.description, "uri": args.uri, "sha256": args.sha256}
    return _act(args, net, "evidence", body)


def case_escalate(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    return _act(args, net, "escalate", {"reason": args.reason})


def case_close(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    return _act(args, net, "close", {"reason": args.reason})


def case_sar(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    report = net.session(COMPLIANCE_USER).post(f"/v1/surveillance/cases/{args.case}/sar")
    out = Path(args.out or f"sar-{args.case}.json")
    out.write_text(json.dumps(report, indent=2, sort_keys=True))
    return {"file": str(out), "report_id": report["report_id"]}, f"SAR {report['report_id']} written to {out}"


def register(sub: Any) -> None:
    al = command(sub, "alerts", alerts_list, "the newest surveillance alerts")
    al.add_argument("--limit", type=int, default=50)
    cases = sub.add_parser("cases", help="surveillance cases").add_subparsers(dest="case_command", required=True)
    ls = command(cases, "list", cases_list, "cases, newest first")
    ls.add_argument("--status", help="open, escalated, close_requested, closed")
    for name, fn, help_text in (
        ("show", case_show, "a case with its alerts and history"),
        ("assign", case_assign, "assign a case to a compliance officer (--to USER_ID)"),
        ("comment", case_comment, "add a comment"),
        ("evidence", case_evidence, "attach evidence (a file's name, where it is kept, its SHA-256)"),
        ("escalate", case_escalate, "escalate (the case becomes high severity)"),
        ("close", case_close, "close with a reason (high severity: a second person confirms)"),
        ("sar", case_sar, "write the case's suspicious activity report (JSON, reponet-sar/1)"),
    ):
        p = command(cases, name, fn, help_text)
        p.add_argument("case", help="the case id")
        if name == "assign":
            p.add_argument("--to", required=True, help="the assignee's user id")
        if name == "comment":
            p.add_argument("--text", required=True)
        if name == "evidence":
            p.add_argument("--name", required=True)
            p.add_argument("--sha256", required=True)
            p.add_argument("--uri", default="")
            p.add_argument("--description", default="")
        if name in ("escalate", "close"):
            p.add_argument("--reason", required=True)
        if name == "sar":
            p.add_argument("--out", help="file to write (default: sar-<case>.json)")
