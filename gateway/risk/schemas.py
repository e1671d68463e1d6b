"""Wire shapes of the risk API: agreements (amounts as exact decimal strings in the base currency) and the
per-repo valuation inputs the risk service reads (smallest units, as strings)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from gateway.addresses import Address
from gateway.risk.exposure import Method

Amount = Annotated[str, Field(pattern=r"^\d{1,30}(\.\d{1,18})?$", description="exact decimal, base currency")]


class AgreementCreate(BaseModel):
    """Terms one member proposes to a counterparty; effective once the counterparty approves."""

    model_config = ConfigDict(extra="forbid")

    counterparty_id: uuid.UUID
    base_currency: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="the cash token amounts are in")
    threshold: Amount
    minimum_transfer: Amount
    rounding: Amount = "0"
    method: Method = Method.B
    cure_period_seconds: int = Field(ge=0, le=30 * 86_400)
    auto_call: bool = Field(False, description="the proposer's standing instruction: the risk service calls margin")


class AgreementApproval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_call: bool = Field(False, description="the approver's standing instruction for the risk service")


class AgreementPublic(BaseModel):
    id: uuid.UUID
    member_a: uuid.UUID
    member_b: uuid.UUID
    version: int
    status: str
    base_currency: str
    threshold: str
    minimum_transfer: str
    rounding: str
    method: Method
    cure_period_seconds: int
    auto_call_a: bool
    auto_call_b: bool
    proposed_by: uuid.UUID
    proposed_at: datetime
    approved_by: uuid.UUID | None
    approved_at: datetime | None


class AgreementsPublic(BaseModel):
    data: list[AgreementPublic]
    next_cursor: str | None = None


class RepoInputs(BaseModel):
    """What the risk service needs to value one live repo the member holds, in smallest units; ``price`` is null
    when the oracle's price is missing or stale."""

    repo_id: int
    lender: uuid.UUID
    borrower: uuid.UUID
    status: str
    cash_token: Address
    collateral_token: Address
    repurchase_price: str
    collateral_amount: str
    cash_margin: str
    haircut_bps: int
    min_transfer_amount: str
    price: str | None
    valued_at: int  # chain time (Unix seconds) the repurchase price is accrued to
    updated_block: int  # the block of the repo's last event: a new call episode starts after it changes


class RepoInputsPublic(BaseModel):
    """Every live repo the member holds, on one page (``next_cursor`` is null)."""

    data: list[RepoInputs]
    next_cursor: str | None = None
    as_of_block: int | None


class MarginCallCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo_id: int = Field(ge=1, le=2**63 - 1)
    agreement_id: uuid.UUID
    call_amount: str = Field(pattern=r"^\d{1,80}$", description="what the service computed, smallest units")
