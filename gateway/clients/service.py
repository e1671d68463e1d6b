"""Create, list and revoke API clients. Secrets are random and stored as SHA-256 digests only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.access.permissions import OPERATOR_SCOPES, Permission
from gateway.access.tokens import new_opaque
from gateway.clients.schemas import ClientCreate, ClientCreated, ClientPublic
from gateway.db import audit_log
from gateway.db.models import ApiClient, ClientKind, Organization
from gateway.exceptions import Conflict, PermissionDenied


def create_client(
    session: Session, *, actor: str, organization_id: uuid.UUID, user_id: uuid.UUID, data: ClientCreate
) -> ClientCreated:
    if OPERATOR_SCOPES & {Permission(s) for s in data.scopes}:
        organization = session.get(Organization, organization_id)
        if organization is None or not organization.is_operator:
            raise PermissionDenied(f"{sorted(OPERATOR_SCOPES)} are for the operator's own services' keys only")
    secret, secret_hash = new_opaque("rnk" if data.kind is ClientKind.API_KEY else "rnc")
    client = ApiClient(
        organization_id=organization_id,
        created_by=user_id,
        kind=data.kind.value,
        name=data.name,
        secret_hash=secret_hash,
        scopes=sorted(set(data.scopes)),
        ip_allowlist=data.ip_allowlist,
        expires_at=datetime.now(UTC) + timedelta(days=data.expires_in_days),
    )
    session.add(client)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="client.created",
        object_type="api_client",
        object_id=str(client.id),
        change={"kind": client.kind, "scopes": client.scopes, "ip_allowlist": client.ip_allowlist},
    )
    session.commit()
    return ClientCreated(**ClientPublic.model_validate(client).model_dump(), secret=secret)


def list_clients(session: Session, *, organization_id: uuid.UUID) -> list[ApiClient]:
    query = select(ApiClient).where(ApiClient.organization_id == organization_id).order_by(ApiClient.created_at)
    return list(session.execute(query).scalars().all())


def revoke_client(session: Session, *, actor: str, client: ApiClient) -> ApiClient:
    if client.revoked_at is not None:
        raise Conflict("already revoked")
    client.revoked_at = datetime.now(UTC)
    audit_log.append(
        session, actor=actor, action="client.revoked", object_type="api_client", object_id=str(client.id), change={}
    )
    session.commit()
    return client
