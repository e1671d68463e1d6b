"""Tables of trading and policy: instruments, requests for quote, quotes, trades, approvals and rejections, policy
rule sets.

Amounts are integers in smallest units, stored as decimal strings (a uint256 does not fit a BIGINT).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, utcnow


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class InstrumentKind(StrEnum):
    CASH = "cash"
    BOND = "bond"


class RfqStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class QuoteStatus(StrEnum):
    ACTIVE = "active"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class TradeStatus(StrEnum):
    PENDING_SIGNATURES = "pending_signatures"
    SETTLING = "settling"
    OPEN = "open"  # the repo is live on chain
    CANCELLING = "cancelling"  # the open failed: its nonces are being cancelled on chain
    FAILED = "failed"
    CANCELLED = "cancelled"


class Instrument(Base):
    """A token the gateway trades: a cash token (per currency) or a bond (per ISIN)."""

    __tablename__ = "instruments"

    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    symbol: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    decimals: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    isin: Mapped[str | None] = mapped_column(String(12), nullable=True)
    max_price_move_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: the gateway's default
    # a bond's final maturity (Unix seconds), read from the chain once: collateral must outlive the repo
    maturity: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rfq(Base):
    """A cash borrower (seller of collateral) asks chosen lenders, or all, for a repo."""

    __tablename__ = "rfqs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    seller_wallet_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallets.id"))
    cash_token: Mapped[str] = mapped_column(String(42))
    collateral_token: Mapped[str] = mapped_column(String(42))
    purchase_price: Mapped[str] = mapped_column(String(80))
    collateral_amount: Mapped[str] = mapped_column(String(80))
    start_time: Mapped[int] = mapped_column(Integer)
    maturity: Mapped[int] = mapped_column(Integer)  # 0 = open repo
    notice_period: Mapped[int] = mapped_column(Integer, default=0)
    day_count_basis: Mapped[int] = mapped_column(Integer, default=360)
    min_transfer_amount: Mapped[str] = mapped_column(String(80), default="0")
    margin_cure_period: Mapped[int] = mapped_column(Integer, default=86_400)
    grace_period: Mapped[int] = mapped_column(Integer, default=86_400)
    quote_deadline: Mapped[datetime] = mapped_column()
    lenders: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # organization ids; None = all
    status: Mapped[str] = mapped_column(String(16), default=RfqStatus.OPEN.value)
    accepted_quote_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    trade_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Quote(Base):
    """A lender's answer to an RFQ: rate and haircut, from one of its wallets."""

    __tablename__ = "quotes"
    __table_args__ = (UniqueConstraint("rfq_id", "organization_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    rfq_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rfqs.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    buyer_wallet_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallets.id"))
    rate: Mapped[str] = mapped_column(String(80))  # 1e18 scale, signed
    haircut_bps: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=QuoteStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Trade(Base):
    """Agreed terms on their way to an open repo: both signatures, then settlement."""

    __tablename__ = "trades"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    source: Mapped[str] = mapped_column(String(8))  # rfq | direct
    rfq_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    seller_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    seller_wallet_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallets.id"))
    buyer_wallet_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallets.id"))
    seller_initiator: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    buyer_initiator: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)  # eip712.RepoTerms with integers as strings
    terms_digest: Mapped[str] = mapped_column(String(66))
    chain_id: Mapped[int] = mapped_column(Integer)
    engine: Mapped[str] = mapped_column(String(42))
    seller_signature: Mapped[str | None] = mapped_column(String(400), nullable=True)
    buyer_signature: Mapped[str | None] = mapped_column(String(400), nullable=True)
    status: Mapped[str] = mapped_column(String(24), default=TradeStatus.PENDING_SIGNATURES.value, index=True)
    settlement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    repo_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TermsNonce(Base):
    """The next EIP-712 terms nonce of a wallet (``gateway.trading.nonces``): sequential, so that a wallet's opens
    mark bits of one word of the engine's nonce bitmap rather than a fresh word each."""

    __tablename__ = "terms_nonces"

    address: Mapped[str] = mapped_column(String(42), primary_key=True)  # lower case
    next_nonce: Mapped[int] = mapped_column(BigInteger)


class TradeApproval(Base):
    """One approver's yes to one side of a trade the policy sent to approval."""

    __tablename__ = "trade_approvals"
    __table_args__ = (UniqueConstraint("trade_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trade_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trades.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyVersion(Base):
    """An organization's ordered rule list; changed only by a draft another approver approves."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("organization_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # draft | active | superseded | rejected
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Subject(StrEnum):
    TRADE = "trade"
    INSTRUCTION = "instruction"


class Rejection(Base):
    """One organization's refusal of a trade or instruction its policy sent to approval, with the reason the people
    who asked for it read. A yes is a row per approver (``TradeApproval``, ``InstructionApproval``); a no is one row
    and ends the subject: one approver may stop what two must allow (the safe direction needs no four eyes)."""

    __tablename__ = "rejections"
    __table_args__ = (UniqueConstraint("subject", "subject_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject: Mapped[str] = mapped_column(String(16))  # Subject
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
