"""Wire shapes of the stress API: scenarios of shocks in, calls and shortfalls per counterparty out (amounts as
exact decimal strings of the pair's cash token; exposures may be negative: over-collateralized)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from gateway.addresses import Address
from gateway.risk.stress import Role, ShockKind


class ShockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ShockKind
    target: str = Field(
        pattern=r"^(\*|0x[0-9a-fA-F]{40}|[A-Za-z0-9]{2,12})$",
        description="instrument: collateral address or *; issuer: ISIN prefix; currency: ISO code; rate: ISO or *",
    )
    bps: int = Field(ge=-9_999, le=10_000, description="signed move in basis points (rate: the yield shift)")


class ScenarioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    shocks: list[ShockIn] = Field(min_length=1, max_length=20)


class StressRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenarios: list[ScenarioIn] = Field(min_length=1, max_length=20)


class PairStress(BaseModel):
    """One counterparty and currency, on one side: ``lender`` (calls the member would make, shortfall it would
    bear) or ``borrower`` (calls it would have to meet). Under an agreement the figures are in its base currency,
    the pair's repos in other cash converted at the FX rate; no agreement: the engine's rule alone per cash token."""

    role: Role
    counterparty_id: uuid.UUID
    cash_token: Address = Field(description="the currency of the figures: the agreement's base, else the repos' cash")
    agreement_id: uuid.UUID | None
    repos: int
    exposure_before: str
    exposure_after: str
    call_before: str
    call_after: str
    shortfall_after: str


class CurrencyTotals(BaseModel):
    cash_token: Address
    calls_to_make: str
    calls_to_meet: str
    shortfall: str


class ScenarioStress(BaseModel):
    name: str
    shocks: list[ShockIn]
    pairs: list[PairStress]
    totals: list[CurrencyTotals]


class StressReport(BaseModel):
    as_of_block: int | None
    valued_at: int = Field(description="chain time (Unix seconds) the repos are valued at")
    unpriced: int = Field(description="live repos left out: their oracle price is missing or stale")
    scenarios: list[ScenarioStress]


class PairNow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    counterparty_id: uuid.UUID
    net: str = Field(pattern=r"^-?\d{1,80}$", description="smallest units of the agreement's base currency")
    repos: int = Field(ge=0, le=1_000_000)


class CureDeadline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo_id: int = Field(ge=1, le=2**63 - 1)
    deadline: int = Field(ge=0, le=2**63 - 1, description="chain time (Unix seconds)")


class RepoNow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo_id: int = Field(ge=1, le=2**63 - 1)
    exposure: str = Field(pattern=r"^-?\d{1,80}$", description="smallest units of the repo's cash token")


class ExposureSnapshot(BaseModel):
    """The risk service's current picture of one member as lender: shown on the member's stream, not stored."""

    model_config = ConfigDict(extra="forbid")

    pairs: list[PairNow] = Field(max_length=5_000)
    repos: list[RepoNow] = Field(default_factory=list, max_length=20_000, description="each held repo's exposure")
    calls_due: list[int] = Field(max_length=20_000, description="repos margin-called and not yet cured")
    cure_deadlines: list[CureDeadline] = Field(max_length=20_000)
