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


ValuationTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["16:00"])]


class EligibleIn(BaseModel):
    """One row of the eligible collateral schedule: bonds of this class (ISIN prefixes; none: any) and currency
    count at this haircut (the larger of it and the repo's own); the first matching row applies; a bond no row
    matches counts for nothing in the pair's net exposure. An empty schedule: every repo at its own haircut."""

    model_config = ConfigDict(extra="forbid")

    collateral_class: str = Field(min_length=1, max_length=40, examples=["UST"])
    isin_prefixes: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2,12}$")]] = Field(default_factory=list, max_length=20)
    currency: str = Field(default="*", pattern=r"^([A-Z]{3}|\*)$", description="the bond's currency, or *")
    haircut_bps: int = Field(ge=0, le=10_000)


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
    eligible: list[EligibleIn] = Field(default_factory=list, max_length=50, description="eligible collateral schedule")
    valuation_times: list[ValuationTime] = Field(
        default_factory=list,
        max_length=24,
        description="UTC times of day the exposure is valued for margin calls (chain time); none: continuously",
    )
    gc_credit_cap_units: str | None = Field(
        None,
        pattern=r"^[0-9]{1,30}$",
        description="the most either member's GC order-book credit limit toward the other may count for, in the same "
        "smallest cash units as those limits; none: no cap",
    )


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
    eligible: list[EligibleIn]
    valuation_times: list[ValuationTime]
    gc_credit_cap_units: str | None
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
    collateral_isin: str | None  # the agreement's eligible collateral schedule matches on these two
    collateral_currency: str | None
    repurchase_price: str
    collateral_amount: str
    cash_margin: str
    haircut_bps: int
    min_transfer_amount: str
    price: str | None  # in the cash token, or in ``price_currency`` when the collateral is quoted in another
    price_currency: Address | None = None  # cross-currency: the collateral's currency (a listed cash token)
    fx_rate: str | None = None  # cross-currency: price_currency in the cash token (1e18), null when stale
    fx_haircut_bps: int = 0  # cross-currency: the oracle's FX haircut, added to the repo's as the engine does
    valued_at: int  # chain time (Unix seconds) the repurchase price is accrued to
    updated_block: int  # the block of the repo's last event: a new call episode starts after it changes


class FxRate(BaseModel):
    """A repo's cash token in the base currency of one of the member's agreements (1e18; null when stale)."""

    quote: Address
    base: Address
    rate: str | None
    haircut_bps: int


class RepoInputsPublic(BaseModel):
    """Every live repo the member holds, on one page (``next_cursor`` is null)."""

    data: list[RepoInputs]
    fx: list[FxRate] = []  # every cash token of the page into every effective agreement's base currency
    next_cursor: str | None = None
    as_of_block: int | None


class MarginCallCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo_id: int = Field(ge=1, le=2**63 - 1)
    agreement_id: uuid.UUID
    call_amount: str = Field(pattern=r"^\d{1,80}$", description="what the service computed, smallest units")
