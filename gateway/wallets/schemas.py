"""Wallet bodies. No private key ever appears in any of them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway.addresses import Address
from gateway.db.models import WalletKind


class WalletCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"label": "repo desk"}]})
    label: str = Field(min_length=1, max_length=100)


class WalletPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    organization_id: uuid.UUID
    address: Address
    kind: WalletKind
    label: str
    onchain_whitelisted: bool
    created_at: datetime
    settlement_id: uuid.UUID | None = Field(
        default=None, description="the outbox settlement that adds the wallet to its member's on-chain identity"
    )


class WalletsPublic(BaseModel):
    data: list[WalletPublic]
    next_cursor: str | None


class SiweChallengeCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"address": "0x" + "ab" * 20, "label": "treasury cold wallet"}]},
    )
    address: Address
    label: str = Field(min_length=1, max_length=100)


class SiweChallengePublic(BaseModel):
    message: str
    nonce: str
    expires_at: datetime


class SiweVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(max_length=2000)
    signature: str = Field(
        pattern=r"^0x(?:[0-9a-fA-F]{2}){65,1000}$", description="whole bytes in hex (EOA: 65; contract wallet: any)"
    )
