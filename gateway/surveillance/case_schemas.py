"""Wire shapes of the surveillance feed, alerts and cases."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway.addresses import Address
from gateway.surveillance.case_models import Severity


class FeedTradePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    trade_id: str
    seller_org: str
    buyer_org: str
    seller_wallet: Address
    buyer_wallet: Address
    cash_token: Address
    cash_decimals: int
    collateral_token: Address
    purchase_price: str = Field(description="smallest cash units")
    collateral_amount: str = Field(description="smallest collateral units")
    rate: str = Field(description="annual rate, 18 decimals")
    haircut_bps: int
    start_time: int
    maturity: int
    reference_rate: str | None = Field(
        None, description="the GC market's fixing before the trade's day, same currency, nearest tenor (18 decimals)"
    )
    reference: str | None = Field(None, description='which fixing: "GC fixing <tenor> <day>"')


class FeedRepoPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    repo_id: int
    trade_id: str
    seller_org: str
    buyer_org: str


class FeedHitPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    entry_id: str = Field(description="the sanctions list entry matched")
    listed_name: str
    screened_name: str
    score: float = Field(description="fuzzy match score, 0-100")


class FeedItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    sequence: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    trade: FeedTradePublic | None = Field(description="the agreed trade's terms, on its last signature")
    repo: FeedRepoPublic | None = Field(None, description="on a repo's entries: the repo and its trade's parties")
    organization_id: str | None = Field(None, description="the organization of the user, wallet or organization")
    detail: FeedHitPublic | None = Field(None, description="on ``sanctions.hit``: the hit recorded")


class FeedPublic(BaseModel):
    data: list[FeedItemPublic]
    next_cursor: str | None = Field(
        description="the last sequence of a full page (pass it as ``after``); null when the feed is caught up"
    )


class Feature(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feature: str = Field(max_length=64)
    value: float
    typical: float
    score_drop: float


class EvidenceTrade(FeedTradePublic):
    feed_sequence: int = Field(description="the feed entry that carried the trade")


class Evidence(BaseModel):
    """What an alert rests on: the agreed trades it cites, as the feed gave them, and the feed entries."""

    trades: list[EvidenceTrade] = Field(default_factory=list, max_length=1000)
    feed_sequences: list[int] = Field(default_factory=list, max_length=10_000)
    feed_sequence: int | None = Field(None, description="the feed entry on which the alert was raised")


class AlertCreate(BaseModel):
    """An alert the surveillance service raises; ``key`` makes sending it again harmless."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=200)
    source: str = Field(pattern="^(rule|model)$")
    detector: str = Field(min_length=1, max_length=64)
    typology: str = Field(min_length=1, max_length=32)
    severity: Severity
    score: float = Field(ge=0, le=1e6)
    organization_id: uuid.UUID | None = None
    subject: str = Field(min_length=1, max_length=100, description="the member's organization id, or a wallet")
    reason: str = Field(max_length=2000)
    top_features: list[Feature] = Field(default_factory=list, max_length=20)
    evidence: Evidence = Field(default_factory=lambda: Evidence(feed_sequence=None))
    observed_at: datetime


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    key: str
    source: str
    detector: str
    typology: str
    severity: Severity
    score: float
    organization_id: uuid.UUID | None
    subject: str
    reason: str
    top_features: list[Feature]
    evidence: Evidence
    observed_at: datetime
    created_at: datetime
    case_id: uuid.UUID | None


class AlertRaised(BaseModel):
    alert: AlertPublic
    case_id: uuid.UUID
    new_alert: bool
    new_case: bool


class AlertsPublic(BaseModel):
    data: list[AlertPublic]
    next_cursor: str | None = None


class CaseEntryBody(BaseModel):
    """An entry's facts; which are present depends on its kind (opened and alert: alert, severity; assigned:
    assignee; comment: text; evidence: name, description, uri, sha256; escalated and closing: reason; SAR: sha256,
    bytes)."""

    alert: str | None = None
    severity: str | None = None
    assignee: str | None = None
    text: str | None = None
    reason: str | None = None
    name: str | None = None
    description: str | None = None
    uri: str | None = None
    sha256: str | None = None
    bytes: int | None = None


class CaseEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    actor: str
    body: CaseEntryBody
    at: datetime


class CasePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    number: int
    subject: str
    organization_id: uuid.UUID | None
    severity: Severity
    status: str
    assignee: uuid.UUID | None
    close_reason: str | None
    close_requested_by: uuid.UUID | None
    closed_by: uuid.UUID | None
    opened_at: datetime
    closed_at: datetime | None


class CaseDetail(CasePublic):
    alerts: list[AlertPublic]
    entries: list[CaseEntryPublic]


class CasesPublic(BaseModel):
    data: list[CasePublic]
    next_cursor: str | None = None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: uuid.UUID = Field(description="a compliance officer's user id")


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    uri: str = Field("", max_length=500, description="where the file is kept")
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="the file's digest, so it can be checked later")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)
