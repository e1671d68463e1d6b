"""What never changes about a listed token, read from its instrument row once per process: its decimals (the
token contract's own) and, for a bond, its final maturity (read from the chain at listing). Every position, repo
timeline and balance formats amounts with them; a query each per request was a tenth of a repo read."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.trading.models import Instrument, InstrumentKind

_DECIMALS: dict[str, int] = {}
_MATURITY: dict[str, int] = {}


def decimals(session: Session, token: str) -> int | None:
    """The listed token's decimals; None while it is not listed (not remembered: it may be listed next)."""
    key = token.lower()
    known = _DECIMALS.get(key)
    if known is not None:
        return known
    row = session.get(Instrument, key)
    if row is None:
        return None
    _DECIMALS[key] = row.decimals
    return row.decimals


def known_maturity(session: Session, token: str) -> int | None:
    """The listed token's final maturity as its row keeps it (0: a cash token, or a bond without one); None while
    it is not listed or its maturity not read yet (``gateway.trading.maturity.bond_maturity`` reads it then)."""
    key = token.lower()
    known = _MATURITY.get(key)
    if known is not None:
        return known
    row = session.get(Instrument, key)
    if row is None:
        return None
    if row.decimals is not None:
        _DECIMALS[key] = row.decimals
    value = int(row.maturity) if row.maturity is not None else (0 if row.kind != InstrumentKind.BOND.value else None)
    if value is not None:
        _MATURITY[key] = value
    return value


def forget() -> None:
    """Tests reuse token addresses across databases (deterministic deployments): each starts afresh."""
    _DECIMALS.clear()
    _MATURITY.clear()
