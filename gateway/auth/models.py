"""Login throttles: failures per account and per address, and until when each must wait."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
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
