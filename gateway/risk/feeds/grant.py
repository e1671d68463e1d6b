"""``reponet risk feed-grant``: the price feed's machine key, an operator API key of scope ``prices:feed`` alone,
created through the gateway's client service under an operator admin (audited; the postings' proposer, so four
eyes exclude that person) and written to the feed's configuration; the key it replaces is then revoked. Runs on
the gateway's host (its database), like ``reponet risk grant``; ``reponet up`` does it once."""

from __future__ import annotations

import argparse
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gateway.access.permissions import Permission
from gateway.clients.operator_keys import grant_operator_key
from gateway.config import Settings
from gateway.exceptions import InvalidRequest
from gateway.exit_status import ExitStatus
from gateway.risk.config_file import write_private_json

SCOPES = [Permission.PRICES_FEED.value]


@dataclass(frozen=True)
class FeedGranted:
    client_id: uuid.UUID
    revoked: uuid.UUID | None


def grant_feed(session: Session, *, config_path: Path, operator_email: str, days: int) -> FeedGranted:
    """An operator key with ``prices:feed`` alone, created under an operator admin (the audit's person and the
    postings' proposer), written to the feed's configuration; the key it replaces is then revoked."""
    config: dict[str, Any] = json.loads(config_path.read_text())
    key = grant_operator_key(
        session,
        operator_email=operator_email,
        days=days,
        name="price feed",
        scopes=SCOPES,
        replaces=config.get("client_id"),
    )
    write_private_json(config_path, {**config, "api_key": key.secret, "client_id": str(key.client_id)})
    return FeedGranted(client_id=key.client_id, revoked=key.revoked)


def cmd_feed_grant(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    from gateway.config import up_database_url
    from gateway.db.session import make_engine, make_session_factory

    database_url, config = settings.database_url, settings.data_dir / "risk" / "feed.json"
    if args.data_dir is not None:  # a `reponet up` data directory (gateway.datadir.DataDir)
        database_url = up_database_url(args.data_dir)
        config = args.data_dir / "risk" / "feed.json"
    config = Path(args.config) if getattr(args, "config", None) else config
    if not config.exists():
        raise InvalidRequest(f"{config} does not exist: `reponet up` writes it, or pass --config")
    with make_session_factory(make_engine(database_url))() as session:
        done = grant_feed(session, config_path=config, operator_email=args.operator, days=args.days)
    print(f"price feed key {done.client_id} in {config}" + (f"; revoked {done.revoked}" if done.revoked else ""))
    return ExitStatus.OK


def register(sub: Any) -> None:
    grant = sub.add_parser("feed-grant", help="create the price feed's operator key (scope prices:feed only)")
    grant.add_argument("--config", default=argparse.SUPPRESS, help="the feed's JSON")
    grant.add_argument("--data-dir", type=Path, help="a `reponet up` data directory (its database and risk/feed.json)")
    grant.add_argument("--operator", required=True, help="email of the operator admin the key is created under")
    grant.add_argument("--days", type=int, default=365, help="the key's lifetime in days (1-365)")
    grant.set_defaults(handler=cmd_feed_grant)
