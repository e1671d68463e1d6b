"""Request and response shapes of trading: money as exact decimal strings, times as UTC ISO 8601."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from gateway.addresses import Address

Money = Field(pattern=r"^-?[0-9]{1,40}(\.[0-9]{1,18})?$", description="exact decimal string")


class RepoShape(BaseModel):
    """The economic terms both an RFQ and direct terms carry."""

    model_config = ConfigDict(extra="forbid")

    cash_token: Address
    collateral_token: Address
    purchase_price: str = Money
    collateral_amount: str = Money
    maturity: datetime | None = Field(
        default=None, description="UTC; with tenor_seconds absent and this null: open repo"
    )
    tenor_seconds: int | None = Field(default=None, ge=1, le=50 * 365 * 86_400)
    notice_period_seconds: int = Field(default=0, ge=0, le=365 * 86_400)
    day_count_basis: Literal[360, 365] = 360
    min_transfer_amount: str = Field(default="0", pattern=r"^[0-9]{1,40}(\.[0-9]{1,18})?$")
    margin_cure_period_seconds: int = Field(default=86_400, ge=1, le=30 * 86_400)
    grace_period_seconds: int = Field(default=86_400, ge=0, le=30 * 86_400)


class RfqCreate(RepoShape):
    seller_wallet_id: uuid.UUID
    quote_seconds: int = Field(default=300, ge=5, le=86_400, description="quotes accepted until now + this")
    lenders: list[uuid.UUID] | None = Field(default=None, max_length=100, description="organizations; null = all")


RATE_PATTERN = r"^-?[0-9]{1,4}(\.[0-9]{1,18})?$"
RATE_DOC = "annual rate as a decimal fraction, signed: 0.035 is 3.5 % a year (the unit is in the name)"


def rate_fraction(name: str = "rate", *, request: bool = False) -> Any:
    """A rate field spelled ``<name>_fraction`` on the wire (the unit in the name); requests still accept the old
    spelling ``<name>`` so that existing clients keep working."""
    return Field(
        pattern=RATE_PATTERN if request else None,
        description=RATE_DOC,
        validation_alias=AliasChoices(f"{name}_fraction", name),
        serialization_alias=f"{name}_fraction",
    )


class QuoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    buyer_wallet_id: uuid.UUID
    rate: str = rate_fraction(request=True)
    haircut_bps: int = Field(ge=0, le=9_999)


class QuotePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    rfq_id: uuid.UUID
    organization_id: uuid.UUID
    buyer_wallet_id: uuid.UUID
    rate: str = rate_fraction()
    haircut_bps: int
    status: str
    created_at: datetime


class AcceptQuote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quote_id: uuid.UUID


class RfqPublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    seller_wallet_id: uuid.UUID
    cash_token: Address
    collateral_token: Address
    purchase_price: str
    collateral_amount: str
    maturity: datetime | None
    tenor_seconds: int | None
    status: str
    quote_deadline: datetime
    lenders: list[uuid.UUID] | None
    quotes: list[QuotePublic]
    trade_id: uuid.UUID | None
    created_at: datetime


class RfqsPublic(BaseModel):
    data: list[RfqPublic]
    next_cursor: str | None


class DirectTradeCreate(RepoShape):
    """Bilateral terms proposed by one side to a named counterparty wallet."""

    role: Literal["seller", "buyer"]
    wallet_id: uuid.UUID
    counterparty_wallet: Address
    rate: str = rate_fraction(request=True)
    haircut_bps: int = Field(ge=0, le=9_999)


class SidePublic(BaseModel):
    organization_id: uuid.UUID
    wallet: Address
    wallet_kind: str
    signed: bool
    approvals: int


class TradePublic(BaseModel):
    id: uuid.UUID
    source: str
    status: str
    seller: SidePublic
    buyer: SidePublic
    cash_token: Address
    collateral_token: Address
    purchase_price: str
    collateral_amount: str
    rate: str = rate_fraction()
    haircut_bps: int
    start_time: datetime
    maturity: datetime | None
    deadline: datetime
    terms: dict[str, str]
    digest: str
    settlement_id: uuid.UUID | None
    repo_id: int | None
    created_at: datetime
    rejection_reason: str | None = Field(
        default=None, description="why an approver rejected the trade (status cancelled); null otherwise"
    )


class TradesPublic(BaseModel):
    data: list[TradePublic]
    next_cursor: str | None


class TypedField(BaseModel):
    name: str
    type: str


class TypedDataDocument(BaseModel):
    """An EIP-712 document as ``eth_signTypedData_v4`` takes it; every integer of ``message`` is a decimal string
    (``JSON.parse`` would round those above 2^53)."""

    types: dict[str, list[TypedField]]
    primaryType: str  # noqa: N815 - EIP-712's own name
    domain: dict[str, str | int]
    message: dict[str, str | bool]


class TypedDataPublic(BaseModel):
    primary_type: str
    typed_data: TypedDataDocument
    digest: str


class SignRequest(BaseModel):
    """What a custodial signature is asked for with: the digest of the terms the person read (optional; the web app
    always sends it), so that terms changed meanwhile (a retry's fresh ones) are never signed unseen."""

    model_config = ConfigDict(extra="forbid")

    digest: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{64}$")


class SignatureSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{2,2000}$")


class DecisionPublic(BaseModel):
    """The policy's answer: ``rule``/``index`` name the first rule that matched (null: none, allowed)."""

    action: str
    approvals: int
    rule: str | None
    index: int | None


class SignResult(BaseModel):
    trade: TradePublic
    policy: DecisionPublic
