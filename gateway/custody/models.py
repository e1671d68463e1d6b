"""Tables of custody: the consent record behind every custodial signature."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, utcnow


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class Purpose(StrEnum):
    TERMS = "terms"  # EIP-712 RepoTerms of a trade
    INSTRUCTION = "instruction"  # EIP-712 Amendment / Substitution
    TRANSACTION = "transaction"  # one transaction from the wallet (its sender, target and calldata)


class Consent(Base):
    """A member's consent to one signature: which person, which wallet, which digest, when.

    ``basis_id`` links a consent that follows from an earlier one: the token approvals that settle signed terms,
    and the cancellation of their nonce when the open fails, follow from the consent to the terms."""

    __tablename__ = "consents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    wallet_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallets.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(80), index=True)  # "trade/<id>", "instruction/<id>", ...
    digest: Mapped[str] = mapped_column(String(66))
    basis_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
