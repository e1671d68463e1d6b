"""The gateway's tables. IDs are random UUIDs, so one member cannot guess another's object ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Role(StrEnum):
    OPERATOR_ADMIN = "operator_admin"
    COMPLIANCE_OFFICER = "compliance_officer"
    MEMBER_ADMIN = "member_admin"
    TRADER = "trader"
    APPROVER = "approver"
    VIEWER = "viewer"


class KycStatus(StrEnum):
    NONE = "none"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    FROZEN = "frozen"
    EXPIRED = "expired"


class ApplicationStatus(StrEnum):
    SCREENING_HITS = "screening_hits"  # hits wait for a decision
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class HitDecision(StrEnum):
    FALSE_POSITIVE = "false_positive"
    TRUE_MATCH = "true_match"


class WalletKind(StrEnum):
    CUSTODIAL = "custodial"
    SELF_HELD = "self_held"


class ClientKind(StrEnum):
    API_KEY = "api_key"
    OAUTH_CLIENT = "oauth_client"


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    name: Mapped[str] = mapped_column(String(200))
    lei: Mapped[str] = mapped_column(String(20), unique=True)
    jurisdiction: Mapped[str] = mapped_column(String(2))
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    kyc_status: Mapped[str] = mapped_column(String(20), default=KycStatus.NONE.value)
    kyc_expiry: Mapped[datetime | None] = mapped_column(nullable=True)
    next_review_at: Mapped[datetime | None] = mapped_column(nullable=True)
    onchain_identity_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class AuthSession(Base):
    """A login: the family of its refresh tokens, and when it last proved a TOTP code (step-up)."""

    __tablename__ = "auth_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    mfa_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_sessions.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ApiClient(Base):
    """An API key (presented as is) or an OAuth2 client (exchanges its secret for a token)."""

    __tablename__ = "api_clients"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    ip_allowlist: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KycApplication(Base):
    __tablename__ = "kyc_applications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    submitted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    legal_name: Mapped[str] = mapped_column(String(200))
    lei: Mapped[str] = mapped_column(String(20))
    jurisdiction: Mapped[str] = mapped_column(String(2))
    investor_class: Mapped[int] = mapped_column(Integer, default=1)
    registered_address: Mapped[str] = mapped_column(String(500))
    beneficial_owners: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(32), default="manual")
    screening_list_sha256: Mapped[str] = mapped_column(String(64), default="")
    provider_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScreeningHit(Base):
    __tablename__ = "screening_hits"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("kyc_applications.id"), index=True)
    screened_name: Mapped[str] = mapped_column(String(200))
    listed_name: Mapped[str] = mapped_column(String(200))
    list_entry_id: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Wallet(Base):
    __tablename__ = "wallets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    address: Mapped[str] = mapped_column(String(42), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100))
    onchain_whitelisted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WalletKey(Base):
    """A custodial wallet's private key, encrypted under its data key; the data key wrapped by a master key."""

    __tablename__ = "wallet_keys"

    wallet_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallets.id"), primary_key=True)
    master_version: Mapped[int] = mapped_column(Integer)
    wrapped_data_key: Mapped[bytes] = mapped_column(LargeBinary)
    encrypted_key: Mapped[bytes] = mapped_column(LargeBinary)


class SiweChallenge(Base):
    __tablename__ = "siwe_challenges"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    address: Mapped[str] = mapped_column(String(42))
    label: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class IdempotencyRecord(Base):
    """The outcome of a POST sent with an ``Idempotency-Key``, per caller. Bodies carrying secrets (tokens,
    API keys) are never stored: their replays are refused instead."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("actor", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 exactly as hashed
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    change_digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row, locked while appending so concurrent writers serialize."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditAnchorRecord(Base):
    __tablename__ = "audit_anchors"
    __table_args__ = (UniqueConstraint("sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    anchored_at: Mapped[datetime] = mapped_column(default=utcnow)


# Tables of the trading and settlement domains live in their packages and register on the same metadata
# (imported last: they import ``Base`` from here), so Alembic and ``Base.metadata`` see every table.
from gateway.auth import models as _auth_models  # noqa: E402, F401
from gateway.custody import models as _custody_models  # noqa: E402, F401
from gateway.events import models as _events_models  # noqa: E402, F401
from gateway.indexer import models as _indexer_models  # noqa: E402, F401
from gateway.members import models as _members_models  # noqa: E402, F401
from gateway.operator import models as _operator_models  # noqa: E402, F401
from gateway.redemptions import models as _redemption_models  # noqa: E402, F401
from gateway.risk import cure_models as _risk_cure_models  # noqa: E402, F401
from gateway.risk import models as _risk_models  # noqa: E402, F401
from gateway.risk.feeds import models as _risk_feed_models  # noqa: E402, F401
from gateway.settlement import models as _settlement_models  # noqa: E402, F401
from gateway.trading import models as _trading_models  # noqa: E402, F401
