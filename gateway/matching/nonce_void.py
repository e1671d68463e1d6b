"""Voiding a cancelled order's signature on chain: its custodial wallet spends the order's nonce (``cancelNonce``,
following from its consent to the order), so no fill of it can open after, whatever the book says.

A fill the book made before the cancel is a trade both members are held to: a same-day fill on its way to the chain
(``settling``), or a tom-next or forward-starting one waiting for its opening day (``scheduled``). Voiding the nonce
now would make it fail, so while fills of the order wait, the void is held (``nonce_void_due``) and queued once the
last of them has opened or failed."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.custody import door
from gateway.db import audit_log
from gateway.db.models import Wallet, WalletKind
from gateway.matching.models import FillStatus, GcFill, GcOrder
from gateway.settlement.market import Market
from gateway.settlement_records.steps import StepSpec, enqueue

WAITING = (FillStatus.SCHEDULED.value, FillStatus.SETTLING.value)  # before it has opened or failed


def void(session: Session, market: Market, row: GcOrder, *, actor: str) -> bool:
    """Void a cancelled order on chain now, or once its waiting fills have opened (the caller commits); False for a
    self-held wallet's order (its own key voids it) or one never signed."""
    wallet = session.get(Wallet, row.wallet_id) if row.wallet_id is not None else None
    if wallet is None or wallet.kind != WalletKind.CUSTODIAL.value or row.signed is None:
        return False
    session.flush()  # the caller's changes to the row, before the locking read reloads it
    session.refresh(row, with_for_update=True)  # against a last fill finishing at once (after_fill locks it too)
    if row.nonce_void_due:
        return True  # held already
    if _fills_waiting(session, row):
        row.nonce_void_due = True
        audit_log.append(
            session, actor=actor, action="gc.order.void_held", object_type="gc_order", object_id=str(row.id),
            change={"why": "fills of it have not opened yet"},
        )  # fmt: skip
        return True
    _queue(session, market, row, wallet, actor=actor)
    return True


def after_fill(session: Session, market: Market, fill: GcFill) -> None:
    """A fill left ``scheduled``/``settling`` (opened or failed): queue the held void of either order it was the last
    waiting fill of (the caller commits)."""
    for order_id in (fill.lend_order_id, fill.borrow_order_id):
        row = session.get(GcOrder, order_id, with_for_update=True, populate_existing=True)
        if row is None or not row.nonce_void_due or _fills_waiting(session, row):
            continue
        wallet = session.get(Wallet, row.wallet_id) if row.wallet_id is not None else None
        row.nonce_void_due = False
        if wallet is not None:
            _queue(session, market, row, wallet, actor="system:matching")


def _fills_waiting(session: Session, row: GcOrder) -> bool:
    query = select(GcFill.sequence).where(
        or_(GcFill.lend_order_id == row.id, GcFill.borrow_order_id == row.id), GcFill.status.in_(WAITING)
    )
    return session.scalars(query.limit(1)).first() is not None


def _queue(session: Session, market: Market, row: GcOrder, wallet: Wallet, *, actor: str) -> None:
    assert row.signed is not None
    spec = StepSpec(
        label="cancel_nonce",
        to=market.engine_address,
        data=market.encode(market.engine, "cancelNonce", int(row.signed["nonce"])),
        sender=wallet.address,
        sender_wallet_id=wallet.id,
    )
    steps = door.follow_from(session, wallet=wallet, subject=f"gc-order/{row.id}", specs=[spec])
    enqueue(session, kind="gc_cancel", requested_by=actor, steps=steps, organization_id=row.organization_id)
