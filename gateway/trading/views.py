"""The API view of trades: one trade, a page of trades, the list query; built in few queries because they are the
most read paths of the trading API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from gateway.db.held import holds
from gateway.db.models import Wallet
from gateway.exceptions import InvalidRequest, NotFound
from gateway.trading import money
from gateway.trading.models import Instrument, InstrumentKind, Rejection, Subject, Trade, TradeApproval, TradeStatus
from gateway.trading.records import decode_cursor, encode_cursor, ts
from gateway.trading.schemas import SidePublic, TradePublic
from gateway.trading.terms import terms_of

# A trade view is read far more often than written: its three queries are built once, and return plain columns.
_INSTRUMENTS_AT = select(Instrument.address, Instrument.kind, Instrument.decimals).where(
    Instrument.address.in_(bindparam("addresses", expanding=True))
)
_WALLETS_BY_ID = select(Wallet.id, Wallet.address, Wallet.kind).where(Wallet.id.in_(bindparam("ids", expanding=True)))
_APPROVALS_PER_ORG = (
    select(TradeApproval.organization_id, func.count())
    .where(TradeApproval.trade_id == bindparam("trade_id"))
    .group_by(TradeApproval.organization_id)
)


_REJECTIONS = select(Rejection.subject_id, Rejection.reason).where(
    Rejection.subject == Subject.TRADE.value, Rejection.subject_id.in_(bindparam("ids", expanding=True))
)


def _rejections(session: Session, trades: list[Trade]) -> dict[uuid.UUID, str]:
    """The approvers' reasons of the cancelled trades among ``trades`` (no query when none is cancelled)."""
    cancelled = [t.id for t in trades if t.status == TradeStatus.CANCELLED.value]
    if not cancelled:
        return {}
    return {row.subject_id: row.reason for row in session.execute(_REJECTIONS, {"ids": cancelled})}


def _instrument_pair(session: Session, cash_token: str, collateral_token: str) -> tuple[Any, Any]:
    """The cash and collateral instruments (address, kind, decimals) in one query."""
    wanted = {cash_token.lower(): InstrumentKind.CASH, collateral_token.lower(): InstrumentKind.BOND}
    rows = {r.address: r for r in session.execute(_INSTRUMENTS_AT, {"addresses": list(wanted)})}
    for address, kind in wanted.items():
        if address not in rows or rows[address].kind != kind.value:
            raise InvalidRequest(f"{address} is not a listed {kind.value} instrument")
    return rows[cash_token.lower()], rows[collateral_token.lower()]


def trade_public(session: Session, trade: Trade) -> TradePublic:
    cash, bond = _instrument_pair(session, trade.terms["cashToken"], trade.terms["collateralToken"])
    wallets = {
        row.id: row for row in session.execute(_WALLETS_BY_ID, {"ids": [trade.seller_wallet_id, trade.buyer_wallet_id]})
    }
    approvals: dict[uuid.UUID, int] = {
        org_id: int(count) for org_id, count in session.execute(_APPROVALS_PER_ORG, {"trade_id": trade.id})
    }
    seller, buyer = wallets[trade.seller_wallet_id], wallets[trade.buyer_wallet_id]
    return _public(
        trade,
        cash,
        bond,
        seller=(seller.address, seller.kind, approvals.get(trade.seller_org_id, 0)),
        buyer=(buyer.address, buyer.kind, approvals.get(trade.buyer_org_id, 0)),
        rejection=_rejections(session, [trade]).get(trade.id),
    )


_APPROVALS_PER_TRADE_AND_ORG = (
    select(TradeApproval.trade_id, TradeApproval.organization_id, func.count())
    .where(TradeApproval.trade_id.in_(bindparam("trade_ids", expanding=True)))
    .group_by(TradeApproval.trade_id, TradeApproval.organization_id)
)


def trades_public(session: Session, trades: list[Trade]) -> list[TradePublic]:
    """A page of trades in three queries whatever its length (instruments, wallets, approvals), where
    ``trade_public`` per trade would make three per trade."""
    if not trades:
        return []
    addresses = {t.terms[k].lower() for t in trades for k in ("cashToken", "collateralToken")}
    instruments = {r.address: r for r in session.execute(_INSTRUMENTS_AT, {"addresses": list(addresses)})}
    wallet_ids = list({w for t in trades for w in (t.seller_wallet_id, t.buyer_wallet_id)})
    wallets = {row.id: row for row in session.execute(_WALLETS_BY_ID, {"ids": wallet_ids})}
    approvals: dict[tuple[uuid.UUID, uuid.UUID], int] = {
        (trade_id, org_id): int(count)
        for trade_id, org_id, count in session.execute(
            _APPROVALS_PER_TRADE_AND_ORG, {"trade_ids": [t.id for t in trades]}
        )
    }
    rejections = _rejections(session, trades)
    out = []
    for trade in trades:
        pair = []
        for key, kind in (("cashToken", InstrumentKind.CASH), ("collateralToken", InstrumentKind.BOND)):
            found = instruments.get(trade.terms[key].lower())
            if found is None or found.kind != kind.value:
                raise InvalidRequest(f"{trade.terms[key].lower()} is not a listed {kind.value} instrument")
            pair.append(found)
        seller, buyer = wallets[trade.seller_wallet_id], wallets[trade.buyer_wallet_id]
        out.append(
            _public(
                trade,
                pair[0],
                pair[1],
                seller=(seller.address, seller.kind, approvals.get((trade.id, trade.seller_org_id), 0)),
                buyer=(buyer.address, buyer.kind, approvals.get((trade.id, trade.buyer_org_id), 0)),
                rejection=rejections.get(trade.id),
            )
        )
    return out


def _public(
    trade: Any,
    cash: Any,
    bond: Any,
    *,
    seller: tuple[str, str, int],
    buyer: tuple[str, str, int],
    rejection: str | None = None,
) -> TradePublic:
    """The API view of a trade: ``trade`` is a Trade or a row with its columns; each side is (wallet address,
    wallet kind, approvals); ``rejection``: an approver's reason, when one cancelled it."""
    terms = terms_of(trade)

    def side(org_id: uuid.UUID, wallet: tuple[str, str, int], signature: str | None) -> SidePublic:
        return SidePublic(
            organization_id=org_id,
            wallet=wallet[0],
            wallet_kind=wallet[1],
            signed=signature is not None,
            approvals=wallet[2],
        )

    return TradePublic(
        id=trade.id,
        source=trade.source,
        status=trade.status,
        seller=side(trade.seller_org_id, seller, trade.seller_signature),
        buyer=side(trade.buyer_org_id, buyer, trade.buyer_signature),
        cash_token=cash.address,
        collateral_token=bond.address,
        purchase_price=money.from_units(terms["purchasePrice"], cash.decimals),
        collateral_amount=money.from_units(terms["collateralAmount"], bond.decimals),
        rate=money.wad_to_rate(terms["rate"]),
        haircut_bps=terms["haircutBps"],
        start_time=ts(terms["startTime"]),
        maturity=ts(terms["maturity"]) if terms["maturity"] else None,
        deadline=ts(terms["deadline"]),
        terms={k: str(v) for k, v in trade.terms.items()},
        digest=trade.terms_digest,
        settlement_id=trade.settlement_id,
        repo_id=trade.repo_id,
        created_at=trade.created_at,
        rejection_reason=rejection,
    )


def _trade_view_query() -> Any:
    """One trade with both wallets, both instruments and each side's approval count, as plain columns."""
    seller_wallet, buyer_wallet = aliased(Wallet), aliased(Wallet)
    cash, bond = aliased(Instrument), aliased(Instrument)

    def approvals(org_column: Any) -> Any:
        return (
            select(func.count())
            .where(TradeApproval.trade_id == Trade.id, TradeApproval.organization_id == org_column)
            .scalar_subquery()
        )

    return (
        select(
            *Trade.__table__.c,
            seller_wallet.address.label("seller_wallet_address"),
            seller_wallet.kind.label("seller_wallet_kind"),
            buyer_wallet.address.label("buyer_wallet_address"),
            buyer_wallet.kind.label("buyer_wallet_kind"),
            approvals(Trade.seller_org_id).label("seller_approvals"),
            approvals(Trade.buyer_org_id).label("buyer_approvals"),
            select(Rejection.reason)
            .where(Rejection.subject == Subject.TRADE.value, Rejection.subject_id == Trade.id)
            .scalar_subquery()
            .label("rejection_reason"),
            cash.address.label("cash_address"),
            cash.kind.label("cash_kind"),
            cash.decimals.label("cash_decimals"),
            bond.address.label("bond_address"),
            bond.kind.label("bond_kind"),
            bond.decimals.label("bond_decimals"),
        )
        .join(seller_wallet, seller_wallet.id == Trade.seller_wallet_id)
        .join(buyer_wallet, buyer_wallet.id == Trade.buyer_wallet_id)
        .outerjoin(cash, cash.address == func.lower(Trade.terms["cashToken"].as_string()))
        .outerjoin(bond, bond.address == func.lower(Trade.terms["collateralToken"].as_string()))
        .where(Trade.id == bindparam("trade_id"))
    )


_TRADE_VIEW = _trade_view_query()


def trade_view(session: Session, *, trade_id: uuid.UUID, organization_id: uuid.UUID, is_operator: bool) -> TradePublic:
    """``load_trade`` then ``trade_public`` in one query: the trade detail is the most read view of all."""
    row = session.execute(_TRADE_VIEW, {"trade_id": trade_id}).one_or_none()
    if row is None or not (is_operator or organization_id in (row.seller_org_id, row.buyer_org_id)):
        raise NotFound("trade not found")
    for prefix, token, kind in (
        ("cash", "cashToken", InstrumentKind.CASH),
        ("bond", "collateralToken", InstrumentKind.BOND),
    ):
        if getattr(row, f"{prefix}_kind") != kind.value:
            raise InvalidRequest(f"{row.terms[token].lower()} is not a listed {kind.value} instrument")
    return _public(
        row,
        _Instrument(row.cash_address, row.cash_decimals),
        _Instrument(row.bond_address, row.bond_decimals),
        seller=(row.seller_wallet_address, row.seller_wallet_kind, int(row.seller_approvals)),
        buyer=(row.buyer_wallet_address, row.buyer_wallet_kind, int(row.buyer_approvals)),
        rejection=row.rejection_reason,
    )


@dataclass(frozen=True)
class _Instrument:
    address: str
    decimals: int


def trade_view_after_commit(
    read: Session, session: Session, *, trade_id: uuid.UUID, organization_id: uuid.UUID, is_operator: bool
) -> TradePublic:
    """The trade as just committed, read in a fresh snapshot of the read session: on the write session the reads
    would open a second write transaction, and on SQLite wait for (and then hold) the write lock. A keyed request's
    work commits with its answer (gateway.db.held): its write session, still open, is the one that sees it."""
    if holds(session):
        read = session
    else:
        read.rollback()
    return trade_view(read, trade_id=trade_id, organization_id=organization_id, is_operator=is_operator)


def list_trades(
    session: Session, *, organization_id: uuid.UUID, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Trade], str | None]:
    query = (
        select(Trade)
        .where(or_(Trade.seller_org_id == organization_id, Trade.buyer_org_id == organization_id))
        .order_by(Trade.created_at.desc(), Trade.id.desc())
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(Trade.status == status)
    if cursor is not None:
        at, last = decode_cursor(cursor)
        query = query.where(or_(Trade.created_at < at, and_(Trade.created_at == at, Trade.id < uuid.UUID(last))))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)
