"""The indexer's copy of token balances: what ``/v1/balances`` serves without a chain call per request."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base


class WalletBalance(Base):
    """A wallet's balance of one listed instrument in smallest units, as of ``block`` (the chain stays the golden
    record; the balance follower refreshes a row whenever a Transfer touches it)."""

    __tablename__ = "wallet_balances"

    wallet: Mapped[str] = mapped_column(String(42), primary_key=True)  # checksum address
    token: Mapped[str] = mapped_column(String(42), primary_key=True)  # lower-case, as instruments are keyed
    units: Mapped[str] = mapped_column(String(80))
    block: Mapped[int] = mapped_column(BigInteger)
