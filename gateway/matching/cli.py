"""``reponet match``: the GC matching service as its own process (skeleton; not started by ``reponet up`` yet).

``run --config FILE`` reads a JSON file naming the gateway, its CA, the service's API key and the instruments
(``{"instruments": [{"basket_id": "GC-EUR-A", "tenor": "ON"}, ...]}``) and polls the gateway's instructions
(``gateway.matching.runner``). Credit limits come from the config's ``credit_limits`` until
agreements feed them: a pair without one cannot trade."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Any

import httpx

from gateway.config import Settings
from gateway.exceptions import InvalidRequest
from gateway.exit_status import ExitStatus
from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.instruments import Instrument, Tenor
from gateway.matching.runner import Runner


def _api_key(path: Path) -> str:
    key = json.loads(path.read_text()).get("api_key")
    if not key:
        raise InvalidRequest(f"{path}: no api_key")
    return str(key)


def instruments_from(config: dict[str, Any]) -> list[Instrument]:
    return [
        Instrument(item["basket_id"], Tenor(item["tenor"]), int(item.get("forward_start_days", 0)))
        for item in config.get("instruments", [])
    ]


def cmd_run(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    if not args.config:
        raise InvalidRequest("--config is required")
    path = Path(args.config)
    config: dict[str, Any] = json.loads(path.read_text())
    _api_key(path)
    credit = CreditLimits()
    for limit in config.get("credit_limits", []):  # until agreements feed them: {member, counterparty, limit_units}
        credit.set_limit(
            member=limit["member"], counterparty=limit["counterparty"], limit_units=int(limit["limit_units"])
        )
    book = Book(instruments=instruments_from(config), credit=credit)
    ca = config.get("ca_file")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with httpx.Client(base_url=config["gateway_url"], verify=ca if ca else True, timeout=10) as http:
        Runner(http, book, api_key=lambda: _api_key(path)).run(stop, args.interval)
    return ExitStatus.OK


def register(top: Any) -> Any:
    match = top.add_parser("match", help="GC order matching: the matching service (skeleton)")
    commands = match.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the matching service: matches the gateway's GC orders as they arrive")
    run.add_argument("--config", help="JSON: gateway_url, ca_file, api_key, instruments (required)")
    run.add_argument("--interval", type=float, default=0.05, help="seconds between polls when idle")
    run.set_defaults(handler=cmd_run)
    return commands
