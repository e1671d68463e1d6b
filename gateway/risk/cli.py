"""``reponet risk``: the risk service as its own process. Its configuration is a JSON file naming the gateway and
each member's API key (scopes ``repos:read`` and ``risk:act``); its state (call intents, exposure history) is a
SQLite file beside it, so a restart resumes rather than repeats."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import start_http_server

from gateway.config import Settings
from gateway.exceptions import InvalidRequest
from gateway.exit_status import ExitStatus
from gateway.leases.client import Lease, LeaseGroup
from gateway.risk.cure import CureTracker
from gateway.risk.feeds.cli import register as register_feed
from gateway.risk.store import Store
from gateway.risk.stress_cli import register as register_stress
from gateway.risk.watcher import MemberKey, Watcher

logger = logging.getLogger(__name__)


def write_config(directory: Path, *, gateway_url: str, ca_file: Path) -> Path:
    """The service's configuration for ``reponet up``, kept if it exists (members' keys are added to it)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    if not path.exists():
        path.write_text(json.dumps({"gateway_url": gateway_url, "ca_file": str(ca_file), "members": []}, indent=2))
        path.chmod(0o600)
    return path


def load_members(path: Path) -> list[MemberKey]:
    config: dict[str, Any] = json.loads(path.read_text())
    return [MemberKey(name=m["name"], api_key=m["api_key"]) for m in config["members"]]


def _constant(key: str) -> Callable[[], str]:
    return lambda: key


def cmd_risk(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    if not args.config:
        raise InvalidRequest("--config is required")
    config: dict[str, Any] = json.loads(Path(args.config).read_text())
    ca = config.get("ca_file")
    http = httpx.Client(base_url=config["gateway_url"], verify=ca if ca else True, timeout=10)
    store = Store(Path(args.state or (settings.data_dir / "risk" / "risk.db")))
    if args.metrics_port:
        start_http_server(args.metrics_port, addr="127.0.0.1")
    stop = threading.Event()
    rounds: list[threading.Event] = []

    def on_signal(*_: object) -> None:
        stop.set()
        for current in rounds:
            current.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        while not stop.is_set():
            lost = _lead_once(args, http, store, rounds, stop)
            if lost:
                return ExitStatus.REFUSED
    finally:
        store.close()
        http.close()
    return ExitStatus.OK


def _lead_once(
    args: argparse.Namespace, http: httpx.Client, store: Store, rounds: list[threading.Event], stop: threading.Event
) -> bool:
    """One term for the members the configuration names now: stand by until this instance holds each one's risk
    lease, then watch them until stopped or until the configuration names other members (then the leases are
    released and the term starts again, so a member added later is leased too: a key the group does not hold is
    never acted for, and two instances never both act). Returns whether a lease was lost."""
    config = Path(args.config)
    members = load_members(config)
    names = sorted(m.name for m in members)
    term = threading.Event()
    rounds[:] = [term]
    if stop.is_set():  # a signal before this term was listed
        term.set()
    leases = LeaseGroup({m.name: Lease(http, "risk", _constant(m.api_key)) for m in members})

    def reload() -> list[MemberKey]:
        fresh = load_members(config)
        if sorted(m.name for m in fresh) != names:
            logger.warning("risk: the configuration names other members: a new term for their leases")
            term.set()
        return [m for m in fresh if m.name in names]

    try:
        if leases.wait(term):  # a standby until it holds every member's risk lease: one instance acts
            logger.warning("risk service watching %d member(s) every %.1f s", len(members), args.interval)
            watcher = Watcher(
                http,
                store,
                members,
                reload=reload,
                cure=CureTracker(http, store, leases.headers),
                fence=leases.headers,
            )
            watcher.run(term, args.interval)
    finally:
        leases.release()
    return leases.lost.is_set()


def register(top: Any) -> Any:
    """The ``risk`` command; answers its subcommands' action (``grant`` is added by ``gateway.cli``: it opens the
    gateway's database, which this process never does)."""
    risk = top.add_parser("risk", help="the risk service: values every repo, calls margin per the agreements")
    risk.add_argument("--config", help="JSON: gateway_url, ca_file, members [{name, api_key}] (required to run)")
    risk.add_argument("--state", help="the service's SQLite state (default: <data dir>/risk/risk.db)")
    risk.add_argument("--interval", type=float, default=1.0, help="seconds between revaluations")
    risk.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics on 127.0.0.1:PORT")
    risk.set_defaults(handler=cmd_risk)
    sub = risk.add_subparsers(dest="risk_command", required=False)
    register_stress(sub)
    register_feed(sub)
    return sub
