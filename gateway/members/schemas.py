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


class OrganizationsPublic(BaseModel):
    data: list[OrganizationPublic]
    count: int


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "ana@bank-a.example",
                    "full_name": "Ana Silva",
                    "role": "trader",
                    "password": "a long initial passphrase",
                }
            ]
        },
    )
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=12, max_length=256, description="initial password; TOTP is enrolled on first use")


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
    count: int


class KycActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "court order 2026/114"}]})
    reason: str = Field(min_length=1, max_length=500)
