"""``reponet match``: the GC matching service as its own process, started by ``reponet up``.

``run --config FILE`` reads a JSON file naming the gateway, its CA and the service's API key (scope
``matching:run``, an operator key: ``grant`` makes one) and matches the gateway's GC instructions as they arrive
(``gateway.matching.runner``): orders, cancellations and the members' credit limits all come from the gateway, in
its order. On start it replays them from the first, which rebuilds the book."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

import httpx

from gateway.access.permissions import Permission
from gateway.config import Settings
from gateway.exceptions import InvalidRequest
from gateway.exit_status import ExitStatus
from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.runner import Runner

logger = logging.getLogger(__name__)


def write_config(directory: Path, *, gateway_url: str, ca_file: Path) -> Path:
    """The service's configuration for ``reponet up``, kept if it exists (``grant`` adds the key to it)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    if not path.exists():
        path.write_text(json.dumps({"gateway_url": gateway_url, "ca_file": str(ca_file), "api_key": None}, indent=2))
        path.chmod(0o600)
    return path


def _api_key(path: Path) -> str:
    key = json.loads(path.read_text()).get("api_key")
    if not key:
        raise InvalidRequest(f"{path}: no api_key (run `reponet match grant`)")
    return str(key)


def grant(session: Any, *, config_path: Path, operator_email: str, days: int) -> None:
    """The service's operator key (scope ``matching:run`` alone), written to its configuration (owner-only); the
    key it replaces is revoked."""
    from gateway.clients.operator_keys import grant_operator_key

    config: dict[str, Any] = json.loads(config_path.read_text())
    key = grant_operator_key(
        session,
        operator_email=operator_email,
        days=days,
        name="matching service",
        scopes=[Permission.MATCHING_RUN.value],
        replaces=config.get("client_id"),
    )
    tmp = config_path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # owner-only from the start: it holds the key
    with os.fdopen(fd, "w") as out:
        json.dump({**config, "api_key": key.secret, "client_id": str(key.client_id)}, out, indent=2)
    tmp.replace(config_path)


def cmd_run(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    if not args.config:
        raise InvalidRequest("--config is required")
    path = Path(args.config)
    config: dict[str, Any] = json.loads(path.read_text())
    _api_key(path)
    book = Book(instruments=[], credit=CreditLimits())
    ca = config.get("ca_file")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    timeout = httpx.Timeout(10.0, read=args.wait + 10.0)
    with httpx.Client(base_url=config["gateway_url"], verify=ca if ca else True, timeout=timeout) as http:
        Runner(http, book, api_key=lambda: _api_key(path), wait=args.wait).run(stop, args.interval)
    return ExitStatus.OK


def cmd_grant(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    from gateway.config import up_database_url
    from gateway.db.session import make_engine, make_session_factory

    database_url = up_database_url(args.data_dir) if args.data_dir is not None else settings.database_url
    config = Path(args.config)
    if not config.exists():
        raise InvalidRequest(f"{config} does not exist: `reponet up` writes it")
    with make_session_factory(make_engine(database_url))() as session:
        grant(session, config_path=config, operator_email=args.operator, days=args.days)
        session.commit()
    print(f"matching service key written to {config}")
    return ExitStatus.OK


def register(top: Any) -> Any:
    match = top.add_parser("match", help="GC order matching: the matching service")
    commands = match.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the matching service: matches the gateway's GC orders as they arrive")
    run.add_argument("--config", help="JSON: gateway_url, ca_file, api_key (required)")
    run.add_argument("--interval", type=float, default=1.0, help="seconds before asking again after a failure")
    run.add_argument("--wait", type=float, default=5.0, help="seconds the gateway holds an empty read open")
    run.set_defaults(handler=cmd_run)
    key = commands.add_parser("grant", help="create the matching service's operator key (scope matching:run only)")
    key.add_argument("--config", required=True, help="the service's JSON")
    key.add_argument("--data-dir", type=Path, help="a `reponet up` data directory (its database)")
    key.add_argument("--operator", required=True, help="email of the operator admin the key is created under")
    key.add_argument("--days", type=int, default=365, help="the key's lifetime in days (1-365)")
    key.set_defaults(handler=cmd_grant)
    return commands
