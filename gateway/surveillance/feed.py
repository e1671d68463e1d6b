"""The surveillance feed: the gateway's activity in the order it happened, for the surveillance service.

Each item is one audit-log entry (logins, signatures, KYC decisions, API keys, trades, chain steps final, ...) by
its sequence number, which is the service's cursor: it asks for what came ``after`` the last number it handled and
so resumes exactly where it stopped. An entry recording a trade's signature carries the trade's terms once both
sides have signed (the trade is agreed): that is when surveillance scores it, before it settles. An entry on a repo
(``repo.opened`` when the open is final, ``repo.repurchase`` / ``repo.early_repurchase`` / ``repo.terminate`` when
asked, ``repo.repurchased`` and ``repo.termination_noticed`` when a repurchase or a termination notice is final on
chain, whoever sent it) carries the repo id and its trade's parties, so an open and its close are linked; an entry on
a user, wallet, KYC application or organization carries the organization it belongs to; a ``sanctions.hit`` carries
the hit (list entry, names, score). The audit chain stores only a digest of each change, so these come from the
records named."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.models import AuditEntry, KycApplication, ScreeningHit, User, Wallet
from gateway.matching.reference import FixingMemo, reference_fixing, utc_day
from gateway.trading.models import Instrument, Trade

MAX_ITEMS = 500
DAY = 86_400


@dataclass(frozen=True)
class FeedTrade:
    trade_id: str
    seller_org: str
    buyer_org: str
    seller_wallet: str
    buyer_wallet: str
    cash_token: str
    cash_decimals: int
    collateral_token: str
    purchase_price: str  # smallest units
    collateral_amount: str
    rate: str  # annual, 18 decimals
    haircut_bps: int
    start_time: int
    maturity: int  # 0 = open repo
    reference_rate: str | None = None  # the GC market's fixing before the trade's day (annual, 18 decimals)
    reference: str | None = None  # which fixing: "GC fixing <tenor> <day>"


@dataclass(frozen=True)
class FeedRepo:
    repo_id: int
    trade_id: str
    seller_org: str
    buyer_org: str


@dataclass(frozen=True)
class FeedHit:
    """A sanctions hit recorded on re-screening (the KYC hit an officer decides)."""

    entry_id: str
    listed_name: str
    screened_name: str
    score: float


@dataclass(frozen=True)
class FeedItem:
    sequence: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    trade: FeedTrade | None
    repo: FeedRepo | None = None
    organization_id: str | None = None
    detail: FeedHit | None = None


def _trade(session: Session, trade_id: str, day: dt.date, fixings: FixingMemo) -> FeedTrade | None:
    try:
        trade = session.get(Trade, uuid.UUID(trade_id))
    except ValueError:
        return None
    if trade is None or not (trade.seller_signature and trade.buyer_signature):
        return None
    terms: dict[str, Any] = trade.terms
    cash = session.scalars(
        select(Instrument).where(func.lower(Instrument.address) == str(terms["cashToken"]).lower())
    ).first()
    wallets = {
        w.id: w.address for w in session.scalars(
            select(Wallet).where(Wallet.id.in_([trade.seller_wallet_id, trade.buyer_wallet_id]))
        )
    }  # fmt: skip
    start, maturity = int(terms["startTime"]), int(terms["maturity"])
    fixing = reference_fixing(
        session,
        cash_token=str(terms["cashToken"]),
        term_days=(maturity - start) // DAY if maturity else 0,
        day=day,
        excluding=frozenset({str(trade.seller_org_id), str(trade.buyer_org_id)}),
        memo=fixings,
    )
    return FeedTrade(
        trade_id=str(trade.id),
        seller_org=str(trade.seller_org_id),
        buyer_org=str(trade.buyer_org_id),
        seller_wallet=wallets.get(trade.seller_wallet_id, ""),
        buyer_wallet=wallets.get(trade.buyer_wallet_id, ""),
        cash_token=str(terms["cashToken"]),
        cash_decimals=cash.decimals if cash is not None else 0,
        collateral_token=str(terms["collateralToken"]),
        purchase_price=str(terms["purchasePrice"]),
        collateral_amount=str(terms["collateralAmount"]),
        rate=str(terms["rate"]),
        haircut_bps=int(terms["haircutBps"]),
        start_time=start,
        maturity=maturity,
        reference_rate=None if fixing is None else str(fixing.rate),
        reference=None if fixing is None else f"GC fixing {fixing.tenor.value} {fixing.day.isoformat()}",
    )


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _repo(session: Session, repo_id: str) -> FeedRepo | None:
    if not repo_id.isdigit():
        return None
    trade = session.scalars(select(Trade).where(Trade.repo_id == int(repo_id)).order_by(Trade.created_at)).first()
    if trade is None:
        return None
    return FeedRepo(int(repo_id), str(trade.id), str(trade.seller_org_id), str(trade.buyer_org_id))


def _hit(session: Session, hit_id: str) -> tuple[FeedHit | None, str | None]:
    key = _uuid(hit_id)
    hit = session.get(ScreeningHit, key) if key is not None else None
    if hit is None:
        return None, None
    application = session.get(KycApplication, hit.application_id)
    org = str(application.organization_id) if application is not None else None
    return FeedHit(hit.list_entry_id, hit.listed_name, hit.screened_name, hit.score), org


def _organization(session: Session, object_type: str, object_id: str) -> str | None:
    """The organization a user, wallet, KYC application or organization entry belongs to."""
    if object_type == "organization":
        return object_id
    key = _uuid(object_id)
    if key is None:
        return None
    if object_type == "user":
        user = session.get(User, key)
        return str(user.organization_id) if user is not None else None
    if object_type == "wallet":
        wallet = session.get(Wallet, key)
        return str(wallet.organization_id) if wallet is not None else None
    if object_type == "kyc_application":  # a decision on it (an approval renews a lapsed member's standing)
        application = session.get(KycApplication, key)
        return str(application.organization_id) if application is not None else None
    return None


def _item(session: Session, e: AuditEntry, fixings: FixingMemo) -> FeedItem:
    detail, org = _hit(session, e.object_id) if e.action == "sanctions.hit" else (None, None)
    return FeedItem(
        sequence=e.sequence,
        at=e.at,
        actor=e.actor,
        action=e.action,
        object_type=e.object_type,
        object_id=e.object_id,
        trade=_trade(session, e.object_id, utc_day(e.at), fixings) if e.action == "trade.signed" else None,
        repo=_repo(session, e.object_id) if e.object_type == "repo" else None,
        organization_id=org or _organization(session, e.object_type, e.object_id),
        detail=detail,
    )


def items(session: Session, *, after: int, limit: int) -> list[FeedItem]:
    query = (
        select(AuditEntry)
        .where(AuditEntry.sequence > after)
        .order_by(AuditEntry.sequence)
        .limit(max(1, min(limit, MAX_ITEMS)))
    )
    fixings: FixingMemo = {}  # a page's signed trades mostly share a currency, tenor and day: one read of the fills
    return [_item(session, e, fixings) for e in session.scalars(query)]
