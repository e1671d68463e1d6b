"""``reponet surveillance grant``: the surveillance service's machine credential, an API key of the operator's
organization with only ``surveillance:feed`` (read the activity feed) and ``surveillance:alert`` (raise alerts),
created under a compliance officer's name (audit) through the gateway's own client service and written to the
service's ``config.json``; the key granted before is revoked once the new one is in the file, so a grant is also
the rotation. Runs on the gateway's host (its database), like ``reponet risk grant``; ``reponet up`` runs it."""

from __future__ import annotations

import argparse
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.access.permissions import ROLE_PERMISSIONS, Permission
from gateway.clients import service as clients
from gateway.clients.schemas import ClientCreate
from gateway.config import Settings
from gateway.db.models import ApiClient, ClientKind, Organization, Role, User
from gateway.exceptions import InvalidRequest, NotFound, PermissionDenied
from gateway.exit_status import ExitStatus

SCOPES = [Permission.SURVEILLANCE_FEED.value, Permission.SURVEILLANCE_ALERT.value]


@dataclass(frozen=True)
class Granted:
    client_id: uuid.UUID
    revoked: uuid.UUID | None


def read_json(path: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(path.read_text())
    return config


def write_config(path: Path, config: dict[str, Any]) -> None:
    """Atomically (the running service re-reads it on a refused key), owner-only: it holds a secret."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(config, out, indent=2)
    os.replace(tmp, path)


def _officer(session: Session, email: str) -> User:
    user = session.scalars(select(User).where(User.email == email.lower())).first()
    org = session.get(Organization, user.organization_id) if user is not None else None
    if user is None or not user.is_active or org is None or not org.is_operator:
        raise NotFound(f"no active operator user {email!r}")
    if not set(SCOPES) <= {p.value for p in ROLE_PERMISSIONS[Role(user.role)]}:
        raise PermissionDenied(f"{email} may not grant the surveillance scopes (role {user.role})")
    return user


def grant(session: Session, *, config_path: Path, officer_email: str, days: int) -> Granted:
    config = read_json(config_path)
    user = _officer(session, officer_email)
    created = clients.create_client(
        session,
        actor=f"user:{user.id}",
        organization_id=user.organization_id,
        user_id=user.id,
        data=ClientCreate(kind=ClientKind.API_KEY, name="surveillance service", scopes=SCOPES, expires_in_days=days),
    )
    previous = config.get("client_id")
    config.update(api_key=created.secret, client_id=str(created.id))
    write_config(config_path, config)
    revoked = None
    if previous:
        old = session.get(ApiClient, uuid.UUID(previous))
        if old is not None and old.organization_id == user.organization_id and old.revoked_at is None:
            clients.revoke_client(session, actor=f"user:{user.id}", client=old)
            revoked = old.id
    return Granted(client_id=created.id, revoked=revoked)


def cmd_grant(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    from gateway.config import up_database_url
    from gateway.db.session import make_engine, make_session_factory

    database_url, config = settings.database_url, settings.data_dir / "surveillance" / "config.json"
    if args.data_dir is not None:  # a `reponet up` directory: its layout (gateway.datadir.DataDir)
        database_url = up_database_url(args.data_dir)
        config = args.data_dir / "surveillance" / "config.json"
    config = Path(args.config) if args.config else config
    if not config.exists():
        raise InvalidRequest(f"{config} does not exist: `reponet up` writes it, or pass --config")
    with make_session_factory(make_engine(database_url))() as session:
        done = grant(session, config_path=config, officer_email=args.officer, days=args.days)
    print(
        f"granted surveillance-service key {done.client_id} in {config}"
        + (f"; revoked {done.revoked}" if done.revoked else "")
    )
    return ExitStatus.OK


def register(sub: Any) -> None:
    cmd = sub.add_parser("grant", help="create the service's API key (surveillance:feed, surveillance:alert)")
    cmd.add_argument("--config", help="the service's config.json")
    cmd.add_argument("--data-dir", type=Path, help="a `reponet up` data directory")
    cmd.add_argument("--officer", required=True, help="email of the compliance officer the key is created under")
    cmd.add_argument("--days", type=int, default=90, help="the key's lifetime in days (1-365)")
    cmd.set_defaults(handler=cmd_grant)
