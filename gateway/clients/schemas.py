"""API client bodies. The secret appears once, in ``ClientCreated``."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gateway.access.permissions import CLIENT_SCOPES
from gateway.db.models import ClientKind


def _scope(value: str) -> str:
    if value not in {s.value for s in CLIENT_SCOPES}:
        raise ValueError(f"scope must be one of {sorted(s.value for s in CLIENT_SCOPES)}")
    return value


def _network(value: str) -> str:
    return str(ipaddress.ip_network(value, strict=False))


Scope = Annotated[str, Field(max_length=32, examples=["wallets:read"]), AfterValidator(_scope)]
Network = Annotated[str, Field(max_length=64, examples=["203.0.113.0/24"]), AfterValidator(_network)]


class ClientCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "api_key",
                    "name": "post-trade sync",
                    "scopes": ["wallets:read", "kyc:read"],
                    "expires_in_days": 90,
                    "ip_allowlist": ["203.0.113.0/24"],
                }
            ]
        },
    )
    kind: ClientKind
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=20)
    expires_in_days: int = Field(default=90, ge=1, le=365)
    ip_allowlist: list[Network] = Field(default_factory=list, max_length=20)


class ClientPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    organization_id: uuid.UUID
    kind: ClientKind
    name: str
    scopes: list[str]
    ip_allowlist: list[str]
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime


class ClientCreated(ClientPublic):
    """For an API key, ``secret`` is the key (header ``X-API-Key``); for an OAuth2 client, the client secret."""

    secret: str


class ClientsPublic(BaseModel):
    data: list[ClientPublic]
    next_cursor: str | None
