"""Every query of reporting: a member's repos with events on a day, their events, the parties' LEIs, the listed
instruments and the indexed oracle prices. Only indexed tables are read (the chain stays behind the seam)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.db.models import Organization, Wallet
from gateway.indexer.models import OraclePrice, OraclePricePoint
from gateway.reporting.derive import EngineEvent, Instrument, PricePoint, RepoParties
from gateway.reporting.exceptions import MemberUnknown
from gateway.settlement_records.models import RepoEvent, RepoRecord
from gateway.trading.models import Instrument as InstrumentRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepoHistory:
    """One repo's parties and its events up to the end of the reporting day, and which organizations are which."""

    parties: RepoParties
    events: list[EngineEvent]
    seller_org: uuid.UUID
    buyer_org: uuid.UUID


def day_bounds(day: date) -> tuple[int, int]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return int(start.timestamp()), int((start + timedelta(days=1)).timestamp())


def member_lei(session: Session, org_id: uuid.UUID) -> str:
    org = session.get(Organization, org_id)
    if org is None:
        raise MemberUnknown(f"no member {org_id}")
    return org.lei


def instruments(session: Session) -> dict[str, Instrument]:
    rows = session.scalars(select(InstrumentRow)).all()
    return {r.address.lower(): Instrument(r.address.lower(), r.decimals, r.currency, r.isin) for r in rows}


def prices(session: Session) -> dict[tuple[str, str], int]:
    return {(p.asset.lower(), p.quote.lower()): int(p.price) for p in session.scalars(select(OraclePrice)).all()}


def price_history(session: Session) -> dict[tuple[str, str], list[PricePoint]]:
    """Every followed price point of each pair, in chain order."""
    out: dict[tuple[str, str], list[PricePoint]] = {}
    query = select(OraclePricePoint).order_by(OraclePricePoint.block, OraclePricePoint.log_index)
    for p in session.scalars(query):
        point = PricePoint(p.block, p.log_index, int(p.price))
        out.setdefault((p.asset.lower(), p.quote.lower()), []).append(point)
    return out


def _owner(session: Session, address: str) -> Organization | None:
    return session.scalars(
        select(Organization).join(Wallet, Wallet.organization_id == Organization.id).where(Wallet.address == address)
    ).first()


def histories(session: Session, org_id: uuid.UUID, day: date) -> list[RepoHistory]:
    """The repos ``org_id`` was a party to at opening (seller or buyer) that had an event on ``day`` (UTC)."""
    start, end = day_bounds(day)
    addresses = list(session.scalars(select(Wallet.address).where(Wallet.organization_id == org_id)))
    candidates = select(RepoRecord.repo_id).where(
        or_(RepoRecord.seller_org_id == org_id, RepoRecord.holder_org_id == org_id, RepoRecord.buyer.in_(addresses))
    )
    touched = session.scalars(
        select(RepoEvent.repo_id).where(
            RepoEvent.repo_id.in_(candidates), RepoEvent.block_time >= start, RepoEvent.block_time < end
        )
    )
    active = sorted({repo_id for repo_id in touched if repo_id is not None})
    out = []
    for repo_id in active:
        record = session.get(RepoRecord, repo_id)
        rows = session.scalars(
            select(RepoEvent)
            .where(RepoEvent.repo_id == repo_id, RepoEvent.block_time < end)
            .order_by(RepoEvent.block_number, RepoEvent.log_index)
        ).all()
        if record is None or not rows or rows[0].name != "RepoOpened":
            logger.warning("repo %s: opening not indexed, not reported", repo_id)
            continue
        seller = _owner(session, str(rows[0].args["seller"]))
        buyer = _owner(session, str(rows[0].args["buyer"]))
        if seller is None or buyer is None:
            logger.warning("repo %s: a party's wallet is not a member's, not reported", repo_id)
            continue
        if org_id not in (seller.id, buyer.id):
            continue  # it holds the position now, but the trade is between the original parties
        events = [EngineEvent(e.name, dict(e.args), e.block_number, e.block_time, e.log_index, e.tx_hash) for e in rows]
        parties = RepoParties(repo_id, seller.lei, buyer.lei, record.haircut_bps, record.day_count_basis)
        out.append(RepoHistory(parties, events, seller.id, buyer.id))
    return out
