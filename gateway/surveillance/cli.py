"""``reponet surveillance``: the surveillance service and its commands. ``run`` is the service as its own process
(``reponet up`` starts it): its configuration is a JSON file naming the gateway, its CA, the service's API key
(written by ``grant``) and optionally the operator's reference rates; its state (feed cursor, alert outbox) is a
SQLite file beside it. Several ``run`` may be started: one leads (the gateway's surveillance lease), the others
stand by and take over within seconds of its loss; a leader that loses the lease stops and exits (status 3).
``retrain`` learns a new model version from a window of trades (JSON lines, as
``scripts/surveillance_market.py`` writes them) and prints its card; ``run`` scores with the newest version."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import start_http_server

from gateway.config import Settings
from gateway.exceptions import InvalidRequest
from gateway.exit_status import ExitStatus
from gateway.leases.client import Lease
from gateway.surveillance import registry
from gateway.surveillance.exceptions import ModelNotFound, SurveillanceError
from gateway.surveillance.retrain import read_trades, retrain
from gateway.surveillance.scorer import Scorer, configured_event_rules, configured_rules
from gateway.surveillance.store import Store
from gateway.surveillance.watcher import Watcher

logger = logging.getLogger(__name__)


def _seconds(text: str | None) -> int | None:
    return int(datetime.fromisoformat(text).timestamp()) if text else None


def write_config(directory: Path, *, gateway_url: str, ca_file: Path) -> Path:
    """The service's configuration for ``reponet up``, kept if it exists (``grant`` adds the key to it)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    if not path.exists():
        body: dict[str, Any] = {"gateway_url": gateway_url, "ca_file": str(ca_file), "api_key": None}
        body["reference_rates_bps"] = {}
        path.write_text(json.dumps(body, indent=2))
        path.chmod(0o600)
    return path


def _api_key(path: Path) -> str:
    key = json.loads(path.read_text()).get("api_key")
    if not key:
        raise InvalidRequest(f"{path}: no api_key (run `reponet surveillance grant`)")
    return str(key)


def cmd_run(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    if not args.config:
        raise InvalidRequest("--config is required")
    path = Path(args.config)
    config: dict[str, Any] = json.loads(path.read_text())
    _api_key(path)
    models = Path(args.models or config.get("models") or settings.data_dir / "surveillance" / "models")
    scorer = Scorer(
        rules=configured_rules(config.get("rules", {})),
        event_rules=configured_event_rules(config.get("rules", {})),
        reference_bps={k.lower(): float(v) for k, v in config.get("reference_rates_bps", {}).items()},
    )
    try:
        scorer.model, card = registry.load(models)
        scorer.model_version = card.version
        logger.warning("surveillance: scoring with model v%d (trained to %s)", card.version, card.window_end)
    except ModelNotFound:
        logger.warning("surveillance: no model in %s: rules only (reponet surveillance retrain)", models)
    ca = config.get("ca_file")
    http = httpx.Client(base_url=config["gateway_url"], verify=ca if ca else True, timeout=10)
    store = Store(Path(args.state or (settings.data_dir / "surveillance" / "surveillance.db")))
    if args.metrics_port:
        start_http_server(args.metrics_port, addr="127.0.0.1")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    lease = Lease(http, "surveillance", lambda: _api_key(path))
    try:
        if lease.wait(stop):  # a standby until it leads: one instance scores and alerts at a time
            Watcher(http, store, scorer, api_key=lambda: _api_key(path), fence=lease.headers).run(stop, args.interval)
    finally:
        lease.release()
        store.close()
        http.close()
    return ExitStatus.REFUSED if lease.lost.is_set() else ExitStatus.OK


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


def register(top: Any) -> Any:
    """The ``surveillance`` command; answers its subcommands' action (``grant`` and the case commands are added by
    ``gateway.cli``: one opens the gateway's database, the others go through the API as a person)."""
    surveillance = top.add_parser("surveillance", help="AML surveillance: the service, alerts and cases, the model")
    commands = surveillance.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the surveillance service: scores the gateway's activity as it happens")
    run.add_argument("--config", help="JSON: gateway_url, ca_file, api_key, reference_rates_bps (required)")
    run.add_argument("--state", help="its SQLite state (default: <data dir>/surveillance/surveillance.db)")
    run.add_argument("--models", help="model directory (default: the config's, else <data dir>/surveillance/models)")
    run.add_argument("--interval", type=float, default=0.2, help="seconds between polls of the feed when idle")
    run.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics on 127.0.0.1:PORT")
    run.set_defaults(handler=cmd_run)
    again = commands.add_parser("retrain", help="train a new model version on a window of trades; prints its card")
    again.add_argument("--trades", required=True, help="JSON lines, one trade a line")
    again.add_argument("--models", help="model directory (default: <data dir>/surveillance/models)")
    again.add_argument("--since", help="window start, ISO 8601 (default: the first trade)")
    again.add_argument("--until", help="window end, ISO 8601 (default: the last trade)")
    again.set_defaults(handler=cmd_retrain)
    return commands
