"""Bond maturity during a repo. The engine does not redeem escrowed bonds: the seller must substitute collateral
before its bond matures (contracts/SECURITY.md, "bond redemption during a repo"), and the engine does not check it
at open. So the gateway does: it refuses terms (RFQ, acceptance, direct terms, substitution, roll) whose collateral
matures at or before the repo's maturity, and flags live repos whose collateral matures within the warning window."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from gateway.chain.outage import is_outage
from gateway.trading import units
from gateway.trading.exceptions import CollateralMaturesFirst
from gateway.trading.models import Instrument

logger = logging.getLogger(__name__)
DAY = 86_400


class ChainSide(Protocol):
    """What the guard needs of the settlement hub: its market (None without a chain). A protocol, so trading does
    not import settlement (which imports trading)."""

    @property
    def market(self) -> Any: ...


def bond_maturity(session: Session, hub: ChainSide | None, address: str) -> int | None:
    """The bond's final maturity (Unix seconds; 0 when the bond has none), from its instrument row, else read once
    from the chain and kept there (a bond's maturity never changes). None: unknown (no chain to ask)."""
    known = units.known_maturity(session, address)
    if known is not None:
        return known
    row = session.get(Instrument, address.lower())
    market = None if hub is None else hub.market
    if market is None:
        return None
    value = read_maturity(market, address)
    if row is not None:
        row.maturity = value
    return value


def read_maturity(market: Any, address: str) -> int:
    """The bond's maturity as the chain says (0: none, or not a BondToken). A chain read: made when the bond is
    listed (the listing keeps it on the instrument row), never while a database write transaction is open."""
    try:
        return int(market.view(market.token(address), "maturity")())
    except Exception as exc:  # no such function (not a BondToken): no maturity to respect
        if is_outage(exc):
            raise
        logger.warning("%s has no readable maturity: %s", address, exc)
        return 0


def require_outlives(session: Session, hub: ChainSide | None, *, collateral_token: str, repo_maturity: int) -> None:
    """Refuse a term repo (``repo_maturity`` > 0) whose collateral matures at or before the repo does."""
    if repo_maturity <= 0:
        return  # an open repo: no maturity to compare; the position flag warns as the bond's maturity nears
    matures = bond_maturity(session, hub, collateral_token)
    if matures and matures <= repo_maturity:
        raise CollateralMaturesFirst(
            f"the collateral {collateral_token} matures at {matures}, not after the repo's maturity {repo_maturity}: "
            "the engine does not redeem escrowed bonds, so the repo cannot be repurchased with it"
        )


@dataclass(frozen=True)
class MaturityFlag:
    """What a position says about its collateral's maturity."""

    collateral_maturity: int | None  # Unix seconds; None unknown, 0 none
    substitution_needed: bool  # live, and the bond matures within the window or before the repo's maturity


def flag(
    *, live: bool, collateral_maturity: int | None, repo_maturity: int, now: int, warning_days: int
) -> MaturityFlag:
    """The collateral needs substitution once it matures within ``warning_days`` of ``now`` or before the repo."""
    needed = False
    if live and collateral_maturity:
        soon = collateral_maturity - now <= warning_days * DAY
        before_repo = bool(repo_maturity) and collateral_maturity <= repo_maturity
        needed = soon or before_repo
    return MaturityFlag(collateral_maturity=collateral_maturity, substitution_needed=needed)
