"""Order entry: a member's GC order, signed once by its custodial wallet through the custody door (or prepared for
a self-held wallet's own key: ``gateway.matching.self_held``), then queued for the matching service. What the
wallet signs (``contracts.eip712`` ``GcOrder``) bounds every fill: the matcher the gateway's relayer account is, the
basket's hash, the tenor's maturity, the rate bound, the size and minimum fill, and the end of the trading day as
the deadline.

A fill opens its repo on the instrument's opening day: at once for overnight and the other spot tenors, the next day
for tom-next, days later for a forward start. The order signs that day's start (no fill opens before it) and its
end (the deadline); the book still expires it at the end of the trading day it was entered on (``expires_at``).
The trading day is the chain's UTC date."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts import eip712
from gateway.context import GatewayContext
from gateway.custody import door
from gateway.db import audit_log
from gateway.db.models import Wallet, WalletKind, utcnow
from gateway.exceptions import Conflict, InvalidRequest, NotFound
from gateway.matching import baskets, instructions, nonce_void
from gateway.matching.exceptions import InvalidOrder
from gateway.matching.instruments import Instrument, Tenor
from gateway.matching.models import GcBasketRow, GcOrder
from gateway.matching.orders import OrderStatus, Side
from gateway.matching.schemas import GcOrderCreate
from gateway.policy import gc_orders as policy
from gateway.policy.engine import TradeFacts
from gateway.settlement.market import Market
from gateway.trading.models import Instrument as Token
from gateway.trading.nonces import next_terms_nonce

PENDING = "pending"  # entered, not yet taken by the matching service
UNSIGNED = "unsigned"  # a self-held wallet's order, prepared: the book sees it once its key has signed
LIVE = (PENDING, OrderStatus.RESTING.value)


@dataclass(frozen=True)
class Venue:
    """What an order is signed against: the chain, the engine, the matcher (the relayer's account) and the chain's
    clock, read before the write transaction opens."""

    chain_id: int
    engine: str
    matcher: str
    now: int


@dataclass(frozen=True)
class OrderDates:
    """An order's times (chain seconds, UTC): what it signs (``start``, ``maturity``, ``deadline``) and when the
    book expires it (``expires_at``)."""

    start: int  # the opening day's first second: no fill opens before
    maturity: int  # midnight of the closing day
    deadline: int  # the opening day's last second: no fill opens after
    expires_at: int  # the trading day's last second: the book takes no fill after


def order_dates(tenor: Tenor, forward_start_days: int, now: int) -> OrderDates:
    """The dates of an order entered at chain time ``now`` in ``tenor``, starting ``forward_start_days`` later."""
    trade_date = dt.datetime.fromtimestamp(now, dt.UTC).date()
    legs = Instrument("-", tenor, forward_start_days).legs(trade_date)
    return OrderDates(
        start=_midnight(legs.opening),
        maturity=_midnight(legs.closing),
        deadline=_midnight(legs.opening + dt.timedelta(days=1)) - 1,
        expires_at=_midnight(trade_date + dt.timedelta(days=1)) - 1,
    )


def _midnight(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(0, tzinfo=dt.UTC)).timestamp())


def _tenor(value: str) -> Tenor:
    try:
        return Tenor(value)
    except ValueError:
        raise InvalidRequest(f"unknown tenor {value!r}: one of {[t.value for t in Tenor]}") from None


def member_wallet(session: Session, wallet_id: uuid.UUID, organization_id: uuid.UUID) -> Wallet:
    wallet = session.get(Wallet, wallet_id)
    if wallet is None or wallet.organization_id != organization_id:
        raise NotFound(f"no wallet {wallet_id}")
    if wallet.kind not in (WalletKind.CUSTODIAL.value, WalletKind.SELF_HELD.value):
        raise InvalidRequest(f"a {wallet.kind} wallet signs no GC order")
    return wallet


def policy_facts(session: Session, basket_row: GcBasketRow, *, size: int, maturity: int, now: int) -> list[TradeFacts]:
    """What the member's policy sees of an order: its size as notional, its tenor, each bond of its basket."""
    cash = session.get(Token, basket_row.cash_token.lower())
    return policy.order_facts(
        notional=Decimal(size).scaleb(-(cash.decimals if cash is not None else 0)),
        bonds=[str(b["token"]) for b in basket_row.bonds],
        tenor_seconds=maturity - now,
    )


def own_order(session: Session, order_id: uuid.UUID, organization_id: uuid.UUID) -> GcOrder:
    """The organization's order; another's is not found (it is not told apart from none)."""
    row = session.get(GcOrder, order_id)
    if row is None or row.organization_id != organization_id:
        raise NotFound(f"no GC order {order_id}")
    return row


def enter_order(
    ctx: GatewayContext,
    session: Session,
    *,
    person: door.Person,
    body: GcOrderCreate,
    venue: Venue,
    chain_checked: str | None,
) -> GcOrder:
    """Sign the order with the member's custodial wallet and queue it (the caller commits)."""
    wallet = member_wallet(session, body.wallet_id, person.organization_id)
    basket_row = baskets.load_basket(session, body.basket_id)
    tenor = _tenor(body.tenor)
    dates = order_dates(tenor, body.forward_start_days, venue.now)
    size, min_fill, rate = int(body.size_units), int(body.min_fill_units), int(body.rate)
    if min_fill > size:
        raise InvalidRequest("min_fill_units exceeds size_units")
    if abs(rate) >= 10**18:
        raise InvalidRequest("rate out of range (annual, 1e18 scale: below 100 %)")
    taken = session.scalars(
        select(GcOrder.id).where(
            GcOrder.organization_id == person.organization_id, GcOrder.client_order_id == body.client_order_id
        )
    ).first()
    if taken is not None:
        raise Conflict(f"client_order_id {body.client_order_id!r} is taken by order {taken}")

    order_id = uuid.uuid4()
    message = eip712.GcOrder(
        maker=wallet.address,
        matcher=venue.matcher,
        side=eip712.GC_LEND if body.side == Side.LEND.value else eip712.GC_BORROW,
        cashToken=basket_row.cash_token,
        basket=bytes.fromhex(basket_row.basket_hash[2:]),
        start=dates.start,
        maturity=dates.maturity,
        rate=rate,
        size=size,
        minFill=min_fill,
        nonce=next_terms_nonce(session, seller=wallet.address, buyer=wallet.address),
        deadline=dates.deadline,
    )
    doc = eip712.typed_data("GcOrder", dict(message), chain_id=venue.chain_id, engine=venue.engine)
    signable = encode_typed_data(full_message=doc)
    digest = keccak(b"\x19" + bytes(signable.version) + bytes(signable.header) + bytes(signable.body))
    facts = policy_facts(session, basket_row, size=size, maturity=dates.maturity, now=venue.now)
    self_held = wallet.kind == WalletKind.SELF_HELD.value
    if self_held:  # its own key signs; the member's rules hold for it all the same
        policy.enforce(session, person.organization_id, facts)
        signature = None
    else:
        signature = door.sign_gc_order(
            ctx,
            session,
            person=person,
            wallet=wallet,
            order_id=order_id,
            doc=doc,
            digest=digest,
            facts=facts,
            chain_checked=chain_checked,
        )
    row = GcOrder(
        id=order_id,
        organization_id=person.organization_id,
        client_order_id=body.client_order_id,
        basket_id=basket_row.basket_id,
        tenor=tenor.value,
        forward_start_days=body.forward_start_days,
        side=body.side,
        tif=body.tif,
        rate=str(rate),
        size_units=str(size),
        min_fill_units=str(min_fill),
        filled_units="0",
        status=UNSIGNED if self_held else PENDING,
        priority=0,
        wallet_id=wallet.id,
        maker=wallet.address,
        order_hash="0x" + bytes(signable.body).hex(),
        signed={k: ("0x" + v.hex() if isinstance(v, bytes) else str(v)) for k, v in message.items()},
        signature=signature,
        deadline=dates.deadline,
        expires_at=dates.expires_at,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the same client_order_id entered at the same moment
        raise Conflict(f"client_order_id {body.client_order_id!r} is taken") from None
    if not self_held:
        instructions.add(session, action="submit", order_id=row.id)
    audit_log.append(
        session,
        actor=person.actor,
        action="gc.order.prepared" if self_held else "gc.order.entered",
        object_type="gc_order",
        object_id=str(row.id),
        change={"basket": row.basket_id, "tenor": row.tenor, "side": row.side, "size": row.size_units,
                "rate": row.rate, "order_hash": row.order_hash},
    )  # fmt: skip
    return row


def cancel_order(
    session: Session, *, actor: str, organization_id: uuid.UUID, order_id: uuid.UUID, market: Callable[[], Market]
) -> GcOrder:
    """Ask the book to cancel a live order (its status follows the matching service's answer), and void its
    signature on chain (``nonce_void``: once the fills it already made have opened), so nobody can fill it after,
    whatever the book says. A fill the book makes before taking the cancel but records after the void is queued
    fails if the void is final first."""
    row = own_order(session, order_id, organization_id)
    if row.status == UNSIGNED and move_unsigned(session, row, status="cancelled", cancel_reason="member"):
        audit_log.append(
            session, actor=actor, action="gc.order.cancelled", object_type="gc_order", object_id=str(row.id), change={}
        )
        return row
    if row.status not in LIVE:
        raise Conflict(f"order {order_id} is {row.status}: nothing to cancel")
    chain = market()  # a chain attached, or 503 before anything is queued
    instructions.add(session, action="cancel", order_id=row.id)
    nonce_void.void(session, chain, row, actor=actor)  # a self-held key voids its own
    audit_log.append(
        session, actor=actor, action="gc.order.cancel_asked", object_type="gc_order", object_id=str(row.id), change={}
    )
    return row


def amend_order(
    session: Session, *, actor: str, organization_id: uuid.UUID, order_id: uuid.UUID, size_units: int
) -> GcOrder:
    """Ask the book to lower a live order's total size (the caller commits). The order keeps its signature, which
    still bounds it on chain, and its time priority; its size here follows once the book has taken the amend (a
    fill the book made before it is not refused for the lower size)."""
    row = own_order(session, order_id, organization_id)
    if row.status not in LIVE:
        raise Conflict(f"order {order_id} is {row.status}: nothing to amend")
    if size_units >= int(row.size_units):
        raise InvalidRequest("an amend only lowers the size: a higher size or another rate is a new order")
    if size_units - int(row.filled_units) < int(row.min_fill_units):
        raise InvalidRequest("the amended size leaves less than the minimum fill unfilled")
    instructions.add(session, action="amend", order_id=row.id, payload={"size_units": str(size_units)})
    audit_log.append(
        session, actor=actor, action="gc.order.amend_asked", object_type="gc_order", object_id=str(row.id),
        change={"size": str(size_units)},
    )  # fmt: skip
    return row


def move_unsigned(session: Session, row: GcOrder, **values: object) -> bool:
    """Change an unsigned order only if it is still unsigned (``values``: its new columns), whatever the caller
    read: of a signature, a cancel and the session's end arriving together, exactly one takes it."""
    moved = session.execute(
        update(GcOrder)
        .where(GcOrder.id == row.id, GcOrder.status == UNSIGNED)
        .values(**values, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(row)
    return bool(moved)


def signed_message(row: GcOrder) -> eip712.GcOrder:
    """The order as its wallet signed it (ints and bytes restored)."""
    if row.signed is None:
        raise InvalidOrder(f"order {row.id} carries no signed message")
    s = row.signed
    return eip712.GcOrder(
        maker=str(s["maker"]),
        matcher=str(s["matcher"]),
        side=int(s["side"]),
        cashToken=str(s["cashToken"]),
        basket=bytes.fromhex(str(s["basket"])[2:]),
        start=int(s.get("start", 0)),  # signed before orders named their opening day: never filled (settle.plan)
        maturity=int(s["maturity"]),
        rate=int(s["rate"]),
        size=int(s["size"]),
        minFill=int(s["minFill"]),
        nonce=int(s["nonce"]),
        deadline=int(s["deadline"]),
    )
