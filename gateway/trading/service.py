"""Requests for quote, quotes, acceptance and direct terms; each agreed trade carries EIP-712 ``RepoTerms``."""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from contracts import eip712
from gateway.audit import log as audit_log
from gateway.db.models import Organization, Wallet
from gateway.exceptions import InvalidCursor, InvalidRequest, NotFound, PermissionDenied
from gateway.settlement.hub import Hub
from gateway.trading import maturity as repo_maturity
from gateway.trading import money
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import (
    Instrument,
    InstrumentKind,
    Quote,
    QuoteStatus,
    Rfq,
    RfqStatus,
    Trade,
    TradeApproval,
    TradeStatus,
)
from gateway.trading.schemas import (
    DirectTradeCreate,
    QuoteCreate,
    QuotePublic,
    RepoShape,
    RfqCreate,
    RfqPublic,
    SidePublic,
    TradePublic,
)

INT_FIELDS = [f["name"] for f in eip712.REPO_TERMS if f["type"] != "address"]


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# ---------------------------------------------------------------------------------------------- instruments
def instrument(session: Session, address: str, kind: InstrumentKind) -> Instrument:
    row = session.execute(select(Instrument).where(Instrument.address == address.lower())).scalar_one_or_none()
    if row is None or row.kind != kind.value:
        raise InvalidRequest(f"{address} is not a listed {kind.value} instrument")
    return row


def own_wallet(session: Session, *, wallet_id: uuid.UUID, organization_id: uuid.UUID) -> Wallet:
    wallet = session.get(Wallet, wallet_id)
    if wallet is None or wallet.organization_id != organization_id:
        raise NotFound("wallet not found")
    return wallet


# ---------------------------------------------------------------------------------------------- cursors
def encode_cursor(created_at: datetime, object_id: uuid.UUID | int) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{object_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, _, object_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), object_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor("invalid cursor: pass the next_cursor of a previous page unchanged") from None


# ---------------------------------------------------------------------------------------------- RFQ
def _maturity(shape: RepoShape, now: int) -> int:
    if shape.maturity is not None and shape.tenor_seconds is not None:
        raise InvalidRequest("give maturity or tenor_seconds, not both")
    if shape.maturity is not None:
        maturity = int(shape.maturity.timestamp())
        if maturity <= now:
            raise InvalidRequest("maturity must be in the future")
        return maturity
    return 0 if shape.tenor_seconds is None else -shape.tenor_seconds  # negative: relative, fixed at acceptance


def create_rfq(
    session: Session, hub: Hub, *, actor: str, user_id: uuid.UUID, organization_id: uuid.UUID, body: RfqCreate
) -> Rfq:
    wallet = own_wallet(session, wallet_id=body.seller_wallet_id, organization_id=organization_id)
    cash = instrument(session, body.cash_token, InstrumentKind.CASH)
    bond = instrument(session, body.collateral_token, InstrumentKind.BOND)
    now = hub.now()
    pp = money.to_units(body.purchase_price, cash.decimals, field="purchase_price")
    amount = money.to_units(body.collateral_amount, bond.decimals, field="collateral_amount")
    if pp == 0 or amount == 0:
        raise InvalidRequest("purchase_price and collateral_amount must be positive")
    if body.lenders is not None and organization_id in body.lenders:
        raise InvalidRequest("an organization cannot lend to itself")
    requested = _maturity(body, now)
    repo_maturity.require_outlives(
        session, hub, collateral_token=bond.address, repo_maturity=now - requested if requested < 0 else requested
    )
    rfq = Rfq(
        id=uuid.uuid4(),
        organization_id=organization_id,
        created_by=user_id,
        seller_wallet_id=wallet.id,
        cash_token=cash.address,
        collateral_token=bond.address,
        purchase_price=str(pp),
        collateral_amount=str(amount),
        start_time=now,
        maturity=requested,
        notice_period=body.notice_period_seconds,
        day_count_basis=body.day_count_basis,
        min_transfer_amount=str(money.to_units(body.min_transfer_amount, cash.decimals, field="min_transfer_amount")),
        margin_cure_period=body.margin_cure_period_seconds,
        grace_period=body.grace_period_seconds,
        quote_deadline=_now() + timedelta(seconds=body.quote_seconds),
        lenders=None if body.lenders is None else [str(x) for x in body.lenders],
    )
    session.add(rfq)
    audit_log.append(
        session,
        actor=actor,
        action="rfq.created",
        object_type="rfq",
        object_id=str(rfq.id),
        change={"purchase_price": rfq.purchase_price, "lenders": rfq.lenders},
    )
    session.commit()
    return rfq


def _addressed_to(rfq: Rfq, organization_id: uuid.UUID) -> bool:
    return rfq.lenders is None or str(organization_id) in rfq.lenders


def expire_if_due(session: Session, rfq: Rfq) -> None:
    if rfq.status == RfqStatus.OPEN.value and rfq.quote_deadline <= _now():
        rfq.status = RfqStatus.EXPIRED.value
        for quote in session.scalars(select(Quote).where(Quote.rfq_id == rfq.id)):
            if quote.status == QuoteStatus.ACTIVE.value:
                quote.status = QuoteStatus.EXPIRED.value
        session.commit()


def load_rfq(session: Session, *, rfq_id: uuid.UUID, organization_id: uuid.UUID, is_operator: bool) -> Rfq:
    """The RFQ, if the caller's organization asked it or was asked; else 404."""
    rfq = session.get(Rfq, rfq_id)
    if rfq is None or not (
        is_operator or rfq.organization_id == organization_id or _addressed_to(rfq, organization_id)
    ):
        raise NotFound("rfq not found")
    expire_if_due(session, rfq)
    return rfq


def rfq_public(session: Session, rfq: Rfq, viewer_org: uuid.UUID, is_operator: bool) -> RfqPublic:
    cash = instrument(session, rfq.cash_token, InstrumentKind.CASH)
    bond = instrument(session, rfq.collateral_token, InstrumentKind.BOND)
    quotes = session.scalars(select(Quote).where(Quote.rfq_id == rfq.id).order_by(Quote.created_at)).all()
    if not (is_operator or rfq.organization_id == viewer_org):
        quotes = [q for q in quotes if q.organization_id == viewer_org]  # lenders never see each other's quotes
    return RfqPublic(
        id=rfq.id,
        organization_id=rfq.organization_id,
        seller_wallet_id=rfq.seller_wallet_id,
        cash_token=rfq.cash_token,
        collateral_token=rfq.collateral_token,
        purchase_price=money.from_units(int(rfq.purchase_price), cash.decimals),
        collateral_amount=money.from_units(int(rfq.collateral_amount), bond.decimals),
        maturity=_ts(rfq.maturity) if rfq.maturity > 0 else None,
        tenor_seconds=-rfq.maturity if rfq.maturity < 0 else None,
        status=rfq.status,
        quote_deadline=rfq.quote_deadline,
        lenders=None if rfq.lenders is None else [uuid.UUID(x) for x in rfq.lenders],
        quotes=[quote_public(q) for q in quotes],
        trade_id=rfq.trade_id,
        created_at=rfq.created_at,
    )


def quote_public(q: Quote) -> QuotePublic:
    return QuotePublic(
        id=q.id,
        rfq_id=q.rfq_id,
        organization_id=q.organization_id,
        buyer_wallet_id=q.buyer_wallet_id,
        rate=money.wad_to_rate(int(q.rate)),
        haircut_bps=q.haircut_bps,
        status=q.status,
        created_at=q.created_at,
    )


def list_rfqs(
    session: Session, *, organization_id: uuid.UUID, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Rfq], str | None]:
    query = select(Rfq).order_by(Rfq.created_at.desc(), Rfq.id.desc())
    if status is not None:
        query = query.where(Rfq.status == status)
    if cursor is not None:
        at, last = decode_cursor(cursor)
        query = query.where(or_(Rfq.created_at < at, and_(Rfq.created_at == at, Rfq.id < uuid.UUID(last))))
    rows: list[Rfq] = []
    for rfq in session.scalars(query):
        if rfq.organization_id == organization_id or _addressed_to(rfq, organization_id):
            rows.append(rfq)
            if len(rows) > limit:
                break
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)


def submit_quote(
    session: Session, *, actor: str, user_id: uuid.UUID, organization_id: uuid.UUID, rfq: Rfq, body: QuoteCreate
) -> Quote:
    if rfq.organization_id == organization_id:
        raise InvalidRequest("the borrower cannot quote its own request")
    if not _addressed_to(rfq, organization_id):
        raise NotFound("rfq not found")
    if rfq.status != RfqStatus.OPEN.value:
        raise InvalidState(f"the request is {rfq.status}")
    wallet = own_wallet(session, wallet_id=body.buyer_wallet_id, organization_id=organization_id)
    rate = money.rate_to_wad(body.rate)
    existing = session.execute(
        select(Quote).where(Quote.rfq_id == rfq.id, Quote.organization_id == organization_id)
    ).scalar_one_or_none()
    if existing is not None:  # a new quote replaces the organization's previous one
        existing.rate, existing.haircut_bps, existing.buyer_wallet_id = str(rate), body.haircut_bps, wallet.id
        existing.status, existing.created_by = QuoteStatus.ACTIVE.value, user_id
        quote = existing
    else:
        quote = Quote(
            id=uuid.uuid4(),
            rfq_id=rfq.id,
            organization_id=organization_id,
            created_by=user_id,
            buyer_wallet_id=wallet.id,
            rate=str(rate),
            haircut_bps=body.haircut_bps,
        )
        session.add(quote)
    audit_log.append(
        session,
        actor=actor,
        action="quote.submitted",
        object_type="quote",
        object_id=str(quote.id),
        change={"rfq": str(rfq.id), "rate": body.rate, "haircut_bps": body.haircut_bps},
    )
    session.commit()
    return quote


def accept_quote(
    session: Session, hub: Hub, *, actor: str, organization_id: uuid.UUID, rfq: Rfq, quote_id: uuid.UUID
) -> Trade:
    if rfq.organization_id != organization_id:
        raise PermissionDenied("only the requesting organization accepts quotes")
    if rfq.status != RfqStatus.OPEN.value:
        raise InvalidState(f"the request is {rfq.status}")
    quote = session.get(Quote, quote_id)
    if quote is None or quote.rfq_id != rfq.id or quote.status != QuoteStatus.ACTIVE.value:
        raise NotFound("quote not found or no longer active")
    seller = session.get(Wallet, rfq.seller_wallet_id)
    buyer = session.get(Wallet, quote.buyer_wallet_id)
    assert seller is not None and buyer is not None
    now = hub.now()
    maturity = now - rfq.maturity if rfq.maturity < 0 else rfq.maturity
    repo_maturity.require_outlives(session, hub, collateral_token=rfq.collateral_token, repo_maturity=maturity)
    terms = build_terms(
        hub,
        seller=seller.address,
        buyer=buyer.address,
        cash_token=rfq.cash_token,
        purchase_price=int(rfq.purchase_price),
        rate=int(quote.rate),
        day_count_basis=rfq.day_count_basis,
        start=now,
        maturity=maturity,
        notice=rfq.notice_period,
        collateral_token=rfq.collateral_token,
        collateral_amount=int(rfq.collateral_amount),
        haircut_bps=quote.haircut_bps,
        min_transfer=int(rfq.min_transfer_amount),
        cure=rfq.margin_cure_period,
        grace=rfq.grace_period,
    )
    trade = _new_trade(
        session,
        hub,
        terms=terms,
        source="rfq",
        rfq_id=rfq.id,
        seller_wallet=seller,
        buyer_wallet=buyer,
        seller_initiator=rfq.created_by,
        buyer_initiator=quote.created_by,
    )
    rfq.status, rfq.accepted_quote_id, rfq.trade_id = RfqStatus.ACCEPTED.value, quote.id, trade.id
    for other in session.scalars(select(Quote).where(Quote.rfq_id == rfq.id)):
        other.status = QuoteStatus.ACCEPTED.value if other.id == quote.id else QuoteStatus.EXPIRED.value
    audit_log.append(
        session,
        actor=actor,
        action="rfq.accepted",
        object_type="rfq",
        object_id=str(rfq.id),
        change={"quote": str(quote.id), "trade": str(trade.id), "digest": trade.terms_digest},
    )
    session.commit()
    return trade


def build_terms(
    hub: Hub,
    *,
    seller: str,
    buyer: str,
    cash_token: str,
    purchase_price: int,
    rate: int,
    day_count_basis: int,
    start: int,
    maturity: int,
    notice: int,
    collateral_token: str,
    collateral_amount: int,
    haircut_bps: int,
    min_transfer: int,
    cure: int,
    grace: int,
) -> dict[str, Any]:
    from eth_utils.address import to_checksum_address

    settle_window = int(hub.extra.get("settle_window_seconds", 600))  # type: ignore[call-overload]
    deadline = now_deadline = start + settle_window
    if maturity:
        deadline = min(now_deadline, maturity - 1) if maturity - 1 > start else now_deadline
    return {
        "seller": to_checksum_address(seller),
        "buyer": to_checksum_address(buyer),
        "cashToken": to_checksum_address(cash_token),
        "purchasePrice": purchase_price,
        "rate": rate,
        "dayCountBasis": day_count_basis,
        "startTime": start,
        "maturity": maturity,
        "noticePeriod": notice,
        "collateralToken": to_checksum_address(collateral_token),
        "collateralAmount": collateral_amount,
        "haircutBps": haircut_bps,
        "minTransferAmount": min_transfer,
        "marginCurePeriod": cure,
        "gracePeriod": grace,
        "nonce": secrets.randbits(128),
        "deadline": deadline,
    }


def _new_trade(
    session: Session,
    hub: Hub,
    *,
    terms: dict[str, Any],
    source: str,
    rfq_id: uuid.UUID | None,
    seller_wallet: Wallet,
    buyer_wallet: Wallet,
    seller_initiator: uuid.UUID | None,
    buyer_initiator: uuid.UUID | None,
) -> Trade:
    if seller_wallet.organization_id == buyer_wallet.organization_id:
        raise InvalidRequest("seller and buyer must be different organizations")
    engine = hub.require_engine()
    digest = eip712.digest("RepoTerms", terms, chain_id=hub.chain_id, engine=engine)
    trade = Trade(
        id=uuid.uuid4(),
        source=source,
        rfq_id=rfq_id,
        seller_org_id=seller_wallet.organization_id,
        buyer_org_id=buyer_wallet.organization_id,
        seller_wallet_id=seller_wallet.id,
        buyer_wallet_id=buyer_wallet.id,
        seller_initiator=seller_initiator,
        buyer_initiator=buyer_initiator,
        terms=stored_terms(terms),
        terms_digest="0x" + digest.hex(),
        chain_id=hub.chain_id,
        engine=engine,
    )
    session.add(trade)
    session.flush()
    return trade


def stored_terms(terms: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if k in INT_FIELDS else v) for k, v in terms.items()}


def terms_of(trade: Trade) -> dict[str, Any]:
    return {k: (int(v) if k in INT_FIELDS else v) for k, v in trade.terms.items()}


def create_direct(
    session: Session, hub: Hub, *, actor: str, user_id: uuid.UUID, organization_id: uuid.UUID, body: DirectTradeCreate
) -> Trade:
    from eth_utils.address import to_checksum_address

    mine = own_wallet(session, wallet_id=body.wallet_id, organization_id=organization_id)
    theirs = session.execute(
        select(Wallet).where(Wallet.address == to_checksum_address(body.counterparty_wallet))
    ).scalar_one_or_none()
    if theirs is None:
        raise NotFound("counterparty wallet is not registered")
    cash = instrument(session, body.cash_token, InstrumentKind.CASH)
    bond = instrument(session, body.collateral_token, InstrumentKind.BOND)
    now = hub.now()
    maturity = _maturity(body, now)
    maturity = now - maturity if maturity < 0 else maturity
    repo_maturity.require_outlives(session, hub, collateral_token=bond.address, repo_maturity=maturity)
    seller, buyer = (mine, theirs) if body.role == "seller" else (theirs, mine)
    pp = money.to_units(body.purchase_price, cash.decimals, field="purchase_price")
    amount = money.to_units(body.collateral_amount, bond.decimals, field="collateral_amount")
    if pp == 0 or amount == 0:
        raise InvalidRequest("purchase_price and collateral_amount must be positive")
    terms = build_terms(
        hub,
        seller=seller.address,
        buyer=buyer.address,
        cash_token=cash.address,
        purchase_price=pp,
        rate=money.rate_to_wad(body.rate),
        day_count_basis=body.day_count_basis,
        start=now,
        maturity=maturity,
        notice=body.notice_period_seconds,
        collateral_token=bond.address,
        collateral_amount=amount,
        haircut_bps=body.haircut_bps,
        min_transfer=money.to_units(body.min_transfer_amount, cash.decimals, field="min_transfer_amount"),
        cure=body.margin_cure_period_seconds,
        grace=body.grace_period_seconds,
    )
    trade = _new_trade(
        session,
        hub,
        terms=terms,
        source="direct",
        rfq_id=None,
        seller_wallet=seller,
        buyer_wallet=buyer,
        seller_initiator=user_id if body.role == "seller" else None,
        buyer_initiator=user_id if body.role == "buyer" else None,
    )
    audit_log.append(
        session,
        actor=actor,
        action="trade.proposed",
        object_type="trade",
        object_id=str(trade.id),
        change={"digest": trade.terms_digest, "role": body.role},
    )
    session.commit()
    return trade


def load_trade(session: Session, *, trade_id: uuid.UUID, organization_id: uuid.UUID, is_operator: bool) -> Trade:
    trade = session.get(Trade, trade_id)
    if trade is None or not (is_operator or organization_id in (trade.seller_org_id, trade.buyer_org_id)):
        raise NotFound("trade not found")
    return trade


def side_of(trade: Trade, organization_id: uuid.UUID) -> str:
    if organization_id == trade.seller_org_id:
        return "seller"
    if organization_id == trade.buyer_org_id:
        return "buyer"
    raise PermissionDenied("not a party to this trade")


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
            )
        )
    return out


def _public(
    trade: Any, cash: Any, bond: Any, *, seller: tuple[str, str, int], buyer: tuple[str, str, int]
) -> TradePublic:
    """The API view of a trade: ``trade`` is a Trade or a row with its columns; each side is (wallet address,
    wallet kind, approvals)."""
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
        start_time=_ts(terms["startTime"]),
        maturity=_ts(terms["maturity"]) if terms["maturity"] else None,
        deadline=_ts(terms["deadline"]),
        terms={k: str(v) for k, v in trade.terms.items()},
        digest=trade.terms_digest,
        settlement_id=trade.settlement_id,
        repo_id=trade.repo_id,
        created_at=trade.created_at,
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
    )


@dataclass(frozen=True)
class _Instrument:
    address: str
    decimals: int


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


def typed_data(trade: Trade) -> dict[str, Any]:
    return eip712.typed_data("RepoTerms", terms_of(trade), chain_id=trade.chain_id, engine=trade.engine)


def organization(session: Session, organization_id: uuid.UUID) -> Organization:
    org = session.get(Organization, organization_id)
    assert org is not None
    return org


def require_pending(trade: Trade) -> None:
    if trade.status != TradeStatus.PENDING_SIGNATURES.value:
        raise InvalidState(f"the trade is {trade.status}")
