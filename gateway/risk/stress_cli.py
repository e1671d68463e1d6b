"""``reponet risk stress``: a stress report for one member of the service's configuration, asked of the gateway's
REST API with the member's own key (``POST /v1/risk/stress``) and written as JSON and/or CSV (one row per scenario,
side and counterparty). The default set is every collateral −5%, −10% and −20%."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import httpx

from gateway.config import Settings
from gateway.exceptions import InvalidRequest
from gateway.exit_status import ExitStatus
from gateway.risk.stress import ShockKind

DEFAULT_LADDER = "instrument:*:-500,-1000,-2000"
CSV_FIELDS = [
    "scenario", "role", "counterparty_id", "cash_token", "agreement_id", "repos", "exposure_before", "exposure_after",
    "call_before", "call_after", "shortfall_after",
]  # fmt: skip


def _shock(text: str) -> dict[str, Any]:
    kind, target, bps = text.rsplit(":", 2) if text.count(":") >= 2 else ("", "", "")
    if kind not in {k.value for k in ShockKind}:
        raise InvalidRequest(f"shock {text!r}: KIND:TARGET:BPS with KIND one of {[k.value for k in ShockKind]}")
    return {"kind": kind, "target": target, "bps": int(bps)}


def scenarios(shocks: list[str], ladders: list[str], combine: bool) -> list[dict[str, Any]]:
    """``--shock`` each its own scenario (or one together with ``--combine``); ``--ladder KIND:TARGET:B1,B2``
    one scenario per move."""
    out: list[dict[str, Any]] = []
    parsed = [_shock(s) for s in shocks]
    if combine and parsed:
        out.append({"name": " & ".join(shocks), "shocks": parsed})
    else:
        out.extend({"name": s, "shocks": [p]} for s, p in zip(shocks, parsed, strict=True))
    for ladder in ladders or ([] if shocks else [DEFAULT_LADDER]):
        head, _, moves = ladder.rpartition(":")
        for move in moves.split(","):
            out.append({"name": f"{head}:{int(move)}", "shocks": [_shock(f"{head}:{int(move)}")]})
    return out


def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"scenario": s["name"], **{k: p[k] for k in CSV_FIELDS if k != "scenario"}}
        for s in report["scenarios"]
        for p in s["pairs"]
    ]


def write(report: dict[str, Any], *, json_path: Path | None, csv_path: Path | None) -> None:
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2))
    if csv_path is not None:
        with csv_path.open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows(rows(report))


def cmd_stress(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    path = Path(args.config) if getattr(args, "config", None) else None
    if path is None and args.data_dir is not None:
        path = args.data_dir / "risk" / "config.json"
    if path is None:
        raise InvalidRequest("--config or --data-dir is required")
    config: dict[str, Any] = json.loads(path.read_text())
    key = next((m["api_key"] for m in config["members"] if m["name"] == args.member), None)
    if key is None:
        raise InvalidRequest(f"member {args.member!r} is not in {path}: run `reponet risk grant` first")
    body = {"scenarios": scenarios(args.shock or [], args.ladder or [], args.combine)}
    ca = config.get("ca_file")
    with httpx.Client(base_url=config["gateway_url"], verify=ca if ca else True, timeout=60) as http:
        answer = http.post("/v1/risk/stress", json=body, headers={"X-API-Key": key})
    if answer.status_code != 200:
        raise InvalidRequest(f"the gateway answered {answer.status_code}: {answer.text[:300]}")
    report: dict[str, Any] = answer.json()
    write(report, json_path=Path(args.json_out) if args.json_out else None,
          csv_path=Path(args.csv_out) if args.csv_out else None)  # fmt: skip
    for s in report["scenarios"]:
        for t in s["totals"]:
            print(f"{s['name']}: {t['cash_token']} calls to make {t['calls_to_make']}, to meet {t['calls_to_meet']}, "
                  f"shortfall {t['shortfall']}")  # fmt: skip
    return ExitStatus.OK


def register(sub: Any) -> None:
    stress = sub.add_parser("stress", help="a stress report for one member (JSON and/or CSV)")
    stress.add_argument("--config", default=argparse.SUPPRESS, help="the service's config.json")
    stress.add_argument("--data-dir", type=Path, help="a `reponet up` data directory (its risk/config.json)")
    stress.add_argument("--member", required=True, help="the member's name in config.json")
    stress.add_argument("--shock", action="append", help="KIND:TARGET:BPS, e.g. issuer:DE0001:-1000 (repeatable)")
    stress.add_argument("--ladder", action="append", help=f"KIND:TARGET:B1,B2,... (default {DEFAULT_LADDER})")
    stress.add_argument("--combine", action="store_true", help="all --shock in one scenario")
    stress.add_argument("--json-out", help="write the report as JSON here")
    stress.add_argument("--csv-out", help="write one row per scenario, side and counterparty here")
    stress.set_defaults(handler=cmd_stress)
