"""Lookups shared by the trading services: listed instruments, a member's own wallet, a trade a viewer may see and
its side, page cursors."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import Organization, Wallet
from gateway.exceptions import InvalidCursor, InvalidRequest, NotFound, PermissionDenied
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import Instrument, InstrumentKind, Trade, TradeStatus


def utc_now() -> datetime:
    return datetime.now(UTC)


def ts(seconds: int) -> datetime:
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


def organization(session: Session, organization_id: uuid.UUID) -> Organization:
    org = session.get(Organization, organization_id)
    assert org is not None
    return org


def require_pending(trade: Trade) -> None:
    if trade.status != TradeStatus.PENDING_SIGNATURES.value:
        raise InvalidState(f"the trade is {trade.status}")
