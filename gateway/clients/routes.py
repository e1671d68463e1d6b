"""/v1/clients: a member's API keys and OAuth2 clients."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from gateway.access.permissions import HOST_ONLY_SCOPES, Permission
from gateway.api.deps import PageQuery, Principal, SessionDep, StepUp, require
from gateway.api.errors import problem_responses
from gateway.clients import service
from gateway.clients.schemas import ClientCreate, ClientCreated, ClientPublic, ClientsPublic
from gateway.db import pages
from gateway.db.models import ApiClient
from gateway.exceptions import NotFound, PermissionDenied

router = APIRouter(prefix="/clients", tags=["clients"], responses=problem_responses(401, 403, 404, 413, 422, 429))

ClientManager = Annotated[Principal, Depends(require(Permission.CLIENTS_MANAGE))]


def load_client(client_id: uuid.UUID, principal: ClientManager, session: SessionDep) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None or client.organization_id != principal.organization_id:
        raise NotFound("client not found")
    return client


ClientDep = Annotated[ApiClient, Depends(load_client)]


@router.post("", response_model=ClientCreated, status_code=201)
def create_client(body: ClientCreate, principal: ClientManager, _: StepUp, session: SessionDep) -> ClientCreated:
    """Create an API key or OAuth2 client (approver, step-up). The secret is shown only in this answer."""
    if principal.kind != "user":
        raise PermissionDenied("clients cannot create clients")
    if HOST_ONLY_SCOPES & set(body.scopes):
        raise PermissionDenied("prices:feed is the operator's price feed key (`reponet risk feed grant`)")
    return service.create_client(
        session, actor=principal.actor, organization_id=principal.organization_id, user_id=principal.id, data=body
    )


@router.get("", response_model=ClientsPublic, status_code=200)
def list_clients(principal: ClientManager, session: SessionDep, page: PageQuery) -> ClientsPublic:
    rows, next_cursor = pages.in_memory(
        service.list_clients(session, organization_id=principal.organization_id),
        page,
        lambda c: (c.created_at.isoformat(), str(c.id)),
    )
    return ClientsPublic(data=[ClientPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{client_id}", response_model=ClientPublic, status_code=200)
def get_client(client: ClientDep) -> ApiClient:
    return client


@router.post("/{client_id}/revoke", response_model=ClientPublic, status_code=200, responses=problem_responses(409))
def revoke_client(client: ClientDep, principal: ClientManager, _: StepUp, session: SessionDep) -> ApiClient:
    """Revoke at once: the key, or the client's tokens, stop working."""
    return service.revoke_client(session, actor=principal.actor, client=client)
