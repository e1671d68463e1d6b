"""``reponet surveillance``: the surveillance service's commands. ``retrain`` learns a new model version from a
window of trades (JSON lines, as ``scripts/surveillance_market.py`` writes them) and prints its card."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.config import Settings
from gateway.exit_status import ExitStatus
from gateway.surveillance.exceptions import SurveillanceError
from gateway.surveillance.retrain import read_trades, retrain


def _seconds(text: str | None) -> int | None:
    return int(datetime.fromisoformat(text).timestamp()) if text else None


def cmd_retrain(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    directory = Path(args.models or settings.data_dir / "surveillance" / "models")
    trades, labels = read_trades(Path(args.trades))
    try:
        card = retrain(trades, directory, labels=labels, since=_seconds(args.since), until=_seconds(args.until))
    except SurveillanceError as exc:
        print(f"retrain refused: {exc}")
        return ExitStatus.REFUSED
    print(json.dumps(asdict(card), indent=2))
    return ExitStatus.OK


def register(top: Any) -> None:
    surveillance = top.add_parser("surveillance", help="AML surveillance: rules and the anomaly model")
    commands = surveillance.add_subparsers(dest="command", required=True)
    again = commands.add_parser("retrain", help="train a new model version on a window of trades; prints its card")
    again.add_argument("--trades", required=True, help="JSON lines, one trade a line")
    again.add_argument("--models", help="model directory (default: <data dir>/surveillance/models)")
    again.add_argument("--since", help="window start, ISO 8601 (default: the first trade)")
    again.add_argument("--until", help="window end, ISO 8601 (default: the last trade)")
    again.set_defaults(handler=cmd_retrain)
