"""KYC application bodies. Status fields are the server's: a client sending one is rejected (422)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.db.models import ApplicationStatus, HitDecision
from gateway.members.schemas import Jurisdiction, Lei


class BeneficialOwner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    ownership_percent: float = Field(gt=0, le=100)
    nationality: Jurisdiction
    date_of_birth: date | None = None


class DocumentRef(BaseModel):
    """A document kept outside the gateway, identified by its SHA-256 digest."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["certificate_of_incorporation", "register_extract", "ownership_chart", "board_resolution", "other"]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "legal_name": "Bank A plc",
                    "lei": "5493001KJTIIGC8Y1R12",
                    "jurisdiction": "GB",
                    "registered_address": "1 Example Street, London",
                    "investor_class": 1,
                    "beneficial_owners": [{"name": "Jane Doe", "ownership_percent": 30, "nationality": "GB"}],
                    "documents": [{"kind": "certificate_of_incorporation", "sha256": "ab" * 32}],
                }
            ]
        },
    )
    organization_id: uuid.UUID | None = Field(
        default=None, description="operator staff applying on a member's behalf; members omit it"
    )
    legal_name: str = Field(min_length=1, max_length=200)
    lei: Lei
    jurisdiction: Jurisdiction
    registered_address: str = Field(min_length=1, max_length=500)
    investor_class: int = Field(default=1, ge=0, le=255)
    beneficial_owners: list[BeneficialOwner] = Field(max_length=50)
    documents: list[DocumentRef] = Field(min_length=1, max_length=50)


class HitPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    screened_name: str
    listed_name: str
    list_entry_id: str
    score: float
    decision: HitDecision | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None


class ApplicationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    organization_id: uuid.UUID
    submitted_by: uuid.UUID
    legal_name: str
    lei: str
    jurisdiction: str
    registered_address: str
    investor_class: int
    beneficial_owners: list[BeneficialOwner]
    documents: list[DocumentRef]
    status: ApplicationStatus
    provider: str
    provider_reference: str | None
    screening_list_sha256: str = Field(description="SHA-256 of the sanctions list the application was screened against")
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_note: str | None
    created_at: datetime
    hits: list[HitPublic] = Field(default_factory=list)
    settlement_id: uuid.UUID | None = Field(
        default=None, description="the outbox settlement that carries an approval to the identity registry"
    )


class ApplicationsPublic(BaseModel):
    data: list[ApplicationPublic]
    next_cursor: str | None


class HitDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"decision": "false_positive"}]})
    decision: HitDecision
    note: str = Field(default="", max_length=1000)


class ApplicationDecision(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"approve": True, "note": "documents verified"}]}
    )
    approve: bool
    note: str = Field(default="", max_length=1000)
