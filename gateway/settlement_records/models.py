"""Tables of settlement and indexing: settlements and their chain steps, sender nonces, repos, events, cursors."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, utcnow


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class SettlementStatus(StrEnum):
    PENDING = "pending"
    FINAL = "final"
    FAILED = "failed"


class StepStatus(StrEnum):
    QUEUED = "queued"  # authorized, not yet signed
    SENT = "sent"  # signed with a nonce (durable before broadcast) and broadcast
    MINED = "mined"  # in a block, not yet final
    FINAL = "final"
    REVERTED = "reverted"
    FAILED = "failed"  # could not be sent; its nonce was filled


class Settlement(Base):
    """One business step (open, repurchase, margin call...) made of ordered chain steps."""

    __tablename__ = "settlements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    kind: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"), nullable=True, index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    trade_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    repo_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default=SettlementStatus.PENDING.value, index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # the failed settlement this one sends again (a registry write retried by compliance): at most one retry each
    retry_of: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, unique=True)


class SettlementParty(Base):
    """An organization party to a settlement: it asked for it, it is a side of the trade the settlement opens, or one
    of its wallets had to sign the instruction the settlement carries out (``gateway.settlement_records.parties``).
    Written with the settlement and when an instruction is linked to it, so that an organization's list is one
    indexed range in the settlements' order (``created_at`` is the settlement's)."""

    __tablename__ = "settlement_parties"
    __table_args__ = (Index("ix_settlement_parties_listing", "organization_id", "created_at", "settlement_id"),)

    settlement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("settlements.id"), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column()


class ChainStep(Base):
    """One transaction of a settlement. ``sender_wallet_id`` None means the relayer's operator account."""

    __tablename__ = "chain_steps"
    __table_args__ = (UniqueConstraint("settlement_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    settlement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("settlements.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(42), index=True)
    sender_wallet_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    consent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)  # custody: the member's consent
    to: Mapped[str] = mapped_column(String(42))
    data: Mapped[str] = mapped_column(Text)
    gas: Mapped[int] = mapped_column(BigInteger, default=0)
    nonce: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    raw: Mapped[str | None] = mapped_column(Text, nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.QUEUED.value, index=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    gas_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    final_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SenderNonce(Base):
    """The next nonce of each sending account; allocation and the signed step commit together."""

    __tablename__ = "sender_nonces"

    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(BigInteger)


class InstructionStatus(StrEnum):
    """``pending`` until every signature is in and it is sent; ``submitted`` once queued from a custodial wallet or
    seen on chain; ``handed_out`` while the transaction is with a self-held seller's wallet (the gateway cannot know
    whether the wallet sent it: ``/submit`` hands it out again until the indexer sees the step on chain, when it
    becomes ``submitted``); ``rejected`` by an approver; ``expired`` once a final block is past its deadline while it
    was still pending or handed out (the engine refuses it from then on: nothing can carry it out)."""

    PENDING = "pending"
    HANDED_OUT = "handed_out"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    EXPIRED = "expired"


SENDABLE = (InstructionStatus.PENDING, InstructionStatus.HANDED_OUT)


class Instruction(Base):
    """A lifecycle instruction that needs signatures before it is sent: substitution, amendment, early repurchase."""

    __tablename__ = "instructions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    repo_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(24))  # Substitution | Amendment | EarlyRepurchase
    message: Mapped[dict[str, Any]] = mapped_column(JSON)  # typed-data message, integers as strings
    signatures: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # lowercase address -> signature
    required: Mapped[list[str]] = mapped_column(JSON)  # lowercase addresses that must sign
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    settlement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RepoRecord(Base):
    """The indexer's copy of a repo's on-chain state (the chain stays the golden record)."""

    __tablename__ = "repos"

    repo_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    trade_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    seller: Mapped[str] = mapped_column(String(42), index=True)
    buyer: Mapped[str] = mapped_column(String(42), index=True)
    holder: Mapped[str] = mapped_column(String(42), index=True)
    seller_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    holder_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    cash_token: Mapped[str] = mapped_column(String(42))
    collateral_token: Mapped[str] = mapped_column(String(42))
    collateral_amount: Mapped[str] = mapped_column(String(80))
    purchase_price: Mapped[str] = mapped_column(String(80))
    rate: Mapped[str] = mapped_column(String(80))
    day_count_basis: Mapped[int] = mapped_column(Integer)
    haircut_bps: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    opened_at: Mapped[int] = mapped_column(BigInteger)
    maturity: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[int] = mapped_column(BigInteger)
    cure_deadline: Mapped[int] = mapped_column(BigInteger, default=0)
    crystallized_pd: Mapped[str] = mapped_column(String(80), default="0")
    cash_margin: Mapped[str] = mapped_column(String(80), default="0")
    min_transfer_amount: Mapped[str] = mapped_column(String(80), default="0")
    margin_call_outstanding: Mapped[str] = mapped_column(String(80), default="0")
    shortfall: Mapped[str] = mapped_column(String(80), default="0")
    updated_block: Mapped[int] = mapped_column(BigInteger, default=0)


class RepoEvent(Base):
    """One engine event, applied once: (block hash, log index) is unique."""

    __tablename__ = "repo_events"
    __table_args__ = (UniqueConstraint("block_hash", "log_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(40))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_hash: Mapped[str] = mapped_column(String(66))
    block_time: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(66))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndexerCursor(Base):
    __tablename__ = "indexer_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_block: Mapped[int] = mapped_column(BigInteger)


class InstructionApproval(Base):
    """An approver's yes to an instruction for the approver's organization (never its proposer or signer)."""

    __tablename__ = "instruction_approvals"
    __table_args__ = (UniqueConstraint("instruction_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instruction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("instructions.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
