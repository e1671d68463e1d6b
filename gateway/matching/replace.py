"""Cancel/replace: a live order at another rate (and, optionally, another total size) is a new order, since its
signature bounds the rate: the replacement is signed through the custody door like any order (KYC, policy, fresh
step-up; prepared ``unsigned`` for a self-held wallet) for the unfilled rest, and the old order is cancelled (in the
book, and its nonce voided on chain once its fills have opened), in one transaction: a replacement the policy
refuses leaves the old order as it was. The replacement takes new time priority, as on any venue. A fill the book
makes of the old order before it takes the cancel still settles, so the member may trade up to that fill more than
the replacement's size."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.context import GatewayContext
from gateway.custody import door
from gateway.db import audit_log
from gateway.exceptions import Conflict, InvalidRequest
from gateway.matching import instructions
from gateway.matching.entry import LIVE, Venue, cancel_order, enter_order, own_order
from gateway.matching.models import GcInstruction, GcOrder
from gateway.matching.schemas import GcOrderCreate, GcOrderReplace
from gateway.settlement.market import Market


def replace_order(
    ctx: GatewayContext,
    session: Session,
    *,
    person: door.Person,
    order_id: uuid.UUID,
    body: GcOrderReplace,
    venue: Venue,
    chain_checked: str | None,
    market: Callable[[], Market],
) -> GcOrder:
    """Enter the replacement and cancel ``order_id`` (the caller commits); the replacement."""
    old = own_order(session, order_id, person.organization_id)
    if old.status not in LIVE:
        raise Conflict(f"order {order_id} is {old.status}: nothing to replace")
    if old.wallet_id is None:
        raise Conflict(f"order {order_id} has no wallet to sign a replacement")
    rest = int(body.size_units or old.size_units) - int(old.filled_units)
    if rest < int(old.min_fill_units):
        raise InvalidRequest("the replacement's unfilled size would be less than the order's minimum fill")
    replacement = GcOrderCreate(
        client_order_id=body.client_order_id,
        wallet_id=old.wallet_id,
        basket_id=old.basket_id,
        tenor=old.tenor,
        forward_start_days=old.forward_start_days,
        side=old.side,  # type: ignore[arg-type]
        tif=old.tif,  # type: ignore[arg-type]
        rate=body.rate,
        size_units=str(rest),
        min_fill_units=old.min_fill_units,
    )
    seen = (old.status, old.filled_units, old.size_units)
    new = enter_order(ctx, session, person=person, body=replacement, venue=venue, chain_checked=chain_checked)
    instructions.lock(session)  # answers are recorded under it: has anything moved the old order since it was read?
    session.refresh(old)
    if (old.status, old.filled_units, old.size_units) != seen or _leaving(session, old):
        raise Conflict(f"order {order_id} changed while its replacement was signed: read it and try again")
    cancel_order(session, actor=person.actor, organization_id=person.organization_id, order_id=old.id, market=market)
    audit_log.append(
        session, actor=person.actor, action="gc.order.replaced", object_type="gc_order", object_id=str(old.id),
        change={"by": str(new.id), "rate": body.rate, "size": str(rest)},
    )  # fmt: skip
    return new


def _leaving(session: Session, order: GcOrder) -> bool:
    """Whether the book has been asked already to take the order out (a cancel, a withdrawal, its expiry)."""
    asked = select(GcInstruction.sequence).where(
        GcInstruction.order_id == order.id, GcInstruction.action.in_(("cancel", "withdraw", "expire"))
    )
    return session.scalars(asked.limit(1)).first() is not None
