"""``reponet risk grant``: a member admin grants the risk service an API key (scopes ``repos:read`` and
``risk:act``), created through the gateway's own client service (hashed secret, expiry, audit entry under the
admin's name) and written to the service's ``config.json``; a key granted before for the member is revoked, so a
grant is also the rotation. Runs on the gateway's host (its database), like ``admin bootstrap``."""

from __future__ import annotations

import argparse
import json
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
from gateway.risk.config_file import write_private_json

SCOPES = ["repos:read", "risk:act"]


@dataclass(frozen=True)
class Granted:
    member: str
    organization_id: uuid.UUID
    client_id: uuid.UUID
    revoked: uuid.UUID | None  # the member's previous risk-service key, if the config named one


def _organization(session: Session, member: str) -> Organization:
    try:
        found = session.get(Organization, uuid.UUID(member))
    except ValueError:
        found = session.scalars(select(Organization).where(Organization.name == member)).first()
    if found is None or found.is_operator:
        raise NotFound(f"member {member!r} not found")
    return found


def _admin(session: Session, organization: Organization, email: str) -> User:
    user = session.scalars(select(User).where(User.email == email.lower())).first()
    if user is None or user.organization_id != organization.id or not user.is_active:
        raise NotFound(f"no active user {email!r} in {organization.name}")
    if Permission.CLIENTS_MANAGE not in ROLE_PERMISSIONS[Role(user.role)]:
        raise PermissionDenied(f"{email} may not create API keys (role {user.role})")
    return user


def read_config(path: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(path.read_text())
    if not isinstance(config.get("members"), list):
        raise InvalidRequest(f"{path}: no members list")
    return config


def write_config(path: Path, config: dict[str, Any]) -> None:
    """Atomically (the running service re-reads it every tick), owner-only: it holds secrets."""
    write_private_json(path, config)


def grant(session: Session, *, config_path: Path, member: str, admin_email: str, days: int) -> Granted:
    config = read_config(config_path)
    organization = _organization(session, member)
    user = _admin(session, organization, admin_email)
    name = organization.name
    previous = next((m for m in config["members"] if m.get("name") == name), None)
    created = clients.create_client(
        session,
        actor=f"user:{user.id}",
        organization_id=organization.id,
        user_id=user.id,
        data=ClientCreate(kind=ClientKind.API_KEY, name="risk service", scopes=SCOPES, expires_in_days=days),
    )
    entry = {"name": name, "api_key": created.secret, "client_id": str(created.id)}
    config["members"] = [m for m in config["members"] if m.get("name") != name] + [entry]
    write_config(config_path, config)
    revoked = None  # the old key only once the new one is in the file: the service is never left without one
    if previous is not None and previous.get("client_id"):
        old = session.get(ApiClient, uuid.UUID(previous["client_id"]))
        if old is not None and old.organization_id == organization.id and old.revoked_at is None:
            clients.revoke_client(session, actor=f"user:{user.id}", client=old)
            revoked = old.id
    return Granted(member=name, organization_id=organization.id, client_id=created.id, revoked=revoked)


def cmd_grant(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    from gateway.config import up_database_url
    from gateway.db.session import make_engine, make_session_factory

    database_url, config = settings.database_url, settings.data_dir / "risk" / "config.json"
    if args.data_dir is not None:  # a `reponet up` directory: its layout (gateway.datadir.DataDir)
        database_url = up_database_url(args.data_dir)
        config = args.data_dir / "risk" / "config.json"
    config = Path(args.config) if getattr(args, "config", None) else config
    if not config.exists():
        raise InvalidRequest(f"{config} does not exist: `reponet up` writes it, or pass --config")
    with make_session_factory(make_engine(database_url))() as session:
        done = grant(session, config_path=config, member=args.member, admin_email=args.admin, days=args.days)
    print(
        f"granted {done.member} ({done.organization_id}) risk-service key {done.client_id} in {config}"
        + (f"; revoked {done.revoked}" if done.revoked else "")
    )
    return ExitStatus.OK


def register(sub: Any) -> None:
    cmd = sub.add_parser("grant", help="create a member's risk-service API key (repos:read, risk:act) into config")
    cmd.add_argument("--config", default=argparse.SUPPRESS, help="the service's config.json")
    cmd.add_argument("--data-dir", type=Path, help="a `reponet up` data directory (its database and risk/config.json)")
    cmd.add_argument("--member", required=True, help="the member organization's name or id")
    cmd.add_argument("--admin", required=True, help="email of the member admin the key is created under (audit)")
    cmd.add_argument("--days", type=int, default=90, help="the key's lifetime in days (1-365)")
    cmd.set_defaults(handler=cmd_grant)
