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


class OraclePrice(Base):
    """The oracle's last price of ``asset`` in ``quote`` (its scale), when it was posted and the pair's effective
    maximum age, as of ``block``: the price follower writes it, valuations read it (no ``getPrice`` per request)."""

    __tablename__ = "oracle_prices"

    asset: Mapped[str] = mapped_column(String(42), primary_key=True)  # lower case, as instruments are keyed
    quote: Mapped[str] = mapped_column(String(42), primary_key=True)
    price: Mapped[str] = mapped_column(String(80))  # "0": no price posted yet (only a maximum age set)
    updated_at: Mapped[int] = mapped_column(BigInteger)  # the oracle's timestamp of the price (Unix seconds)
    max_age: Mapped[int] = mapped_column(BigInteger, default=0)
    block: Mapped[int] = mapped_column(BigInteger, default=0)


class OraclePricePoint(Base):
    """Every price the oracle was given for a pair (``PriceUpdated``), where it is on chain: the price in force at
    a past event (the last one before it in chain order), for what must be valued as it stood then (a regulatory
    report's collateral at its event)."""

    __tablename__ = "oracle_price_points"

    asset: Mapped[str] = mapped_column(String(42), primary_key=True)  # lower case, as instruments are keyed
    quote: Mapped[str] = mapped_column(String(42), primary_key=True)
    block: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    price: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[int] = mapped_column(BigInteger)  # the oracle's timestamp of the price (Unix seconds)


class EngineClaim(Base):
    """What the engine's claim ledger owes ``party`` in ``token`` (smallest units), as the indexer followed it:
    ``ClaimCredited`` adds, ``ClaimPaid`` and ``ClaimForced`` (always the whole claim) clear it."""

    __tablename__ = "engine_claims"

    party: Mapped[str] = mapped_column(String(42), primary_key=True)  # checksum address
    token: Mapped[str] = mapped_column(String(42), primary_key=True)  # lower case, as instruments are keyed
    amount: Mapped[str] = mapped_column(String(80))
    updated_block: Mapped[int] = mapped_column(BigInteger)
