"""Machine keys of the operator's organization for its own services (the price feed, the matching service): an API
key with the service's scopes alone, created under an operator admin who operates the market, on the gateway's
host; the key it replaces is then revoked. The caller writes the secret to the service's configuration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.access.permissions import ROLE_PERMISSIONS, Permission
from gateway.clients import service as clients
from gateway.clients.schemas import ClientCreate
from gateway.db.models import ApiClient, ClientKind, Role, User
from gateway.exceptions import NotFound, PermissionDenied


@dataclass(frozen=True)
class OperatorKey:
    client_id: uuid.UUID
    secret: str
    revoked: uuid.UUID | None  # the key it replaced


def grant_operator_key(
    session: Session, *, operator_email: str, days: int, name: str, scopes: list[str], replaces: str | None
) -> OperatorKey:
    """A key with ``scopes`` alone under the operator admin ``operator_email`` (the audit's person); ``replaces``
    (a client id) is revoked once the new key exists."""
    user = session.scalars(select(User).where(User.email == operator_email.lower())).first()
    if user is None or not user.is_active:
        raise NotFound(f"no active user {operator_email!r}")
    if Permission.MARKET_OPERATE not in ROLE_PERMISSIONS[Role(user.role)]:
        raise PermissionDenied(f"{operator_email} does not operate the market (role {user.role})")
    created = clients.create_client(
        session,
        actor=f"user:{user.id}",
        organization_id=user.organization_id,
        user_id=user.id,
        data=ClientCreate(kind=ClientKind.API_KEY, name=name, scopes=scopes, expires_in_days=days),
    )
    revoked = None
    if replaces:
        old = session.get(ApiClient, uuid.UUID(replaces))
        if old is not None and old.revoked_at is None:
            clients.revoke_client(session, actor=f"user:{user.id}", client=old)
            revoked = old.id
    return OperatorKey(client_id=created.id, secret=created.secret, revoked=revoked)
