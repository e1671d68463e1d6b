"""Login throttles: failures per account and per address, and until when each must wait."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base


class LoginThrottle(Base):
    """One row per throttled key (``account:<email digest>``, ``address:<ip>``, ``step-up:<user id>``). Keys of
    unknown emails are kept like any other, so the answers never tell which emails exist."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(nullable=True)


class AuthGeneration(Base):
    """One row whose ``value`` database triggers raise on every change that can end or narrow a credential (a
    session's revocation or step-up, a user's deactivation or role, an API client's revocation, expiry, scopes or
    address list, an organization's operator flag), whichever process or path makes it. Each gateway process
    caches credential lookups under the value it read, and reads the value again on every request
    (``gateway.api.credentials``)."""

    __tablename__ = "auth_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
