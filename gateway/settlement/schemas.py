"""Shapes of settlements and lifecycle requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, computed_field, field_validator

from gateway.addresses import Address
from gateway.trading.schemas import RATE_DOC, RATE_PATTERN, TypedDataDocument

Amount = Field(default="0", pattern=r"^[0-9]{1,40}(\.[0-9]{1,18})?$")

# A repo id in a path: what the database's signed 64-bit integer holds (a larger one could name no repo).
RepoIdPath = Annotated[int, Path(ge=0, le=2**63 - 1, description="the engine's repo id")]


class StepPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    label: str
    sender: Address
    status: str
    nonce: int | None
    tx_hash: str | None
    block_number: int | None
    error: str | None
    sent_at: datetime | None
    final_at: datetime | None


# One vocabulary: a collateral *substitution* and a terms *amendment* (a roll or a rerate), as the instruction,
# its EIP-712 type and its settlement are called. Settlements recorded before carry the verbs; both spellings read.
KIND_SPELLINGS: dict[str, tuple[str, ...]] = {
    "substitution": ("substitution", "substitute"),
    "amendment": ("amendment", "amend"),
    "early_repurchase": ("early_repurchase", "earlyrepurchase", "repurchaseearly"),
}
_CANONICAL_KIND = {spelling: kind for kind, spellings in KIND_SPELLINGS.items() for spelling in spellings}


def canonical_kind(kind: str) -> str:
    """A settlement kind in the one vocabulary (``amend`` -> ``amendment``, ``Substitution`` -> ``substitution``)."""
    return _CANONICAL_KIND.get(kind.lower(), kind)


def kind_spellings(kind: str) -> tuple[str, ...]:
    """Every stored spelling of ``kind``, to filter on whatever a client sends."""
    return KIND_SPELLINGS.get(canonical_kind(kind), (kind,))


class SettlementPublic(BaseModel):
    id: uuid.UUID
    kind: str

    @field_validator("kind")
    @classmethod
    def _one_vocabulary(cls, kind: str) -> str:
        return canonical_kind(kind)

    status: str
    trade_id: uuid.UUID | None
    repo_id: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    steps: list[StepPublic]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def final_block(self) -> int | None:
        """The block of its last mined step: pass it as ``min_block`` to reads (GET /v1/positions)."""
        blocks = [s.block_number for s in self.steps if s.block_number is not None]
        return max(blocks) if blocks else None


class Submission(BaseModel):
    """A queued settlement, or (self-held wallet) the transaction to sign and send yourself."""

    settlement: SettlementPublic | None
    transaction: dict[str, str] | None


class MarginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collateral_amount: str = Amount
    cash_amount: str = Amount


class SubstitutionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_collateral_token: Address
    new_collateral_amount: str = Field(pattern=r"^[0-9]{1,40}(\.[0-9]{1,18})?$")


class AmendmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["roll", "rerate", "coupon_election"]
    new_maturity: datetime | None = None
    new_tenor_seconds: int | None = Field(default=None, ge=1)
    new_rate: str | None = Field(
        default=None,
        pattern=RATE_PATTERN,
        description=RATE_DOC + "; for a re-rate",
        validation_alias=AliasChoices("new_rate_fraction", "new_rate"),
        serialization_alias="new_rate_fraction",
    )
    apply_coupons_to_repurchase_price: bool | None = Field(
        default=None,
        description="for a coupon election (GMRA 5): true, coupons on the collateral go to the holder and reduce "
        "the repurchase price; false, they are passed to the seller (the default)",
    )


class SettlementsPublic(BaseModel):
    data: list[SettlementPublic]
    next_cursor: str | None


class InstructionPublic(BaseModel):
    id: uuid.UUID
    repo_id: int
    kind: str
    status: str
    message: dict[str, str]
    required: list[str]
    signed_by: list[str]
    typed_data: TypedDataDocument
    digest: str
    settlement_id: uuid.UUID | None
    rejection_reason: str | None = Field(
        default=None, description="why an approver rejected the instruction (status rejected); null otherwise"
    )
    transaction: dict[str, str] | None = Field(
        default=None,
        description="in the answer to the step that completes it, for a self-held sender: the unsigned transaction "
        "its wallet sends (from, to, data); null otherwise",
    )
