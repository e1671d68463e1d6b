"""Organization and user bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gateway.db.models import Role
from gateway.members.validation import validate_jurisdiction, validate_lei

Lei = Annotated[
    str, Field(min_length=20, max_length=20, examples=["5493001KJTIIGC8Y1R12"]), AfterValidator(validate_lei)
]
Jurisdiction = Annotated[str, Field(min_length=2, max_length=2, examples=["GB"]), AfterValidator(validate_jurisdiction)]


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Bank A plc", "lei": "5493001KJTIIGC8Y1R12", "jurisdiction": "GB"}]},
    )
    name: str = Field(min_length=1, max_length=200)
    lei: Lei
    jurisdiction: Jurisdiction


class OrganizationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    lei: str
    jurisdiction: str
    is_operator: bool
    kyc_status: str
    kyc_expiry: datetime | None
    next_review_at: datetime | None
    onchain_identity_id: int | None
    created_at: datetime
    settlement_id: uuid.UUID | None = Field(
        default=None, description="the outbox settlement that carries a KYC action to the identity registry"
    )


class OrganizationsPublic(BaseModel):
    data: list[OrganizationPublic]
    next_cursor: str | None


Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class InvitationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ana@bank-a.example", "full_name": "Ana Silva", "role": "trader"}]},
    )
    email: Email
    full_name: str = Field(min_length=1, max_length=200)
    role: Role


class InvitationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    full_name: str
    role: Role
    invited_by: str
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class InvitationCreated(InvitationPublic):
    """``token`` is shown only in this answer: hand it to the invitee, who accepts at ``/v1/invitations/accept``."""

    token: str


class InvitationsPublic(BaseModel):
    data: list[InvitationPublic]
    next_cursor: str | None


class InvitationAccept(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"token": "inv_...", "password": "a long passphrase of my own"}]},
    )
    token: str = Field(min_length=8, max_length=128)
    password: str = Field(min_length=12, max_length=256, description="the invitee's own password")


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "approver"}]})
    role: Role


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    full_name: str
    role: Role
    totp_confirmed: bool
    is_active: bool
    created_at: datetime


class UsersPublic(BaseModel):
    data: list[UserPublic]
    next_cursor: str | None


class KycActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "court order 2026/114"}]})
    reason: str = Field(min_length=1, max_length=500)
