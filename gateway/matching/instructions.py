"""The matching service's inbox: every new order, cancellation, credit limit and credit release as an instruction
with a sequence, read in order by ``reponet match`` (``GET /v1/gc/instructions?after=N``).

A sequence is given out under a row lock on ``GcSequence`` that the entering transaction holds until it commits, so
instruction rows become visible in sequence order: a reader that has seen N never meets an N-1 committed later
(PostgreSQL gives out SERIAL ids at insert, not at commit). SQLite serializes writers anyway.

``QUEUED`` rings when a transaction that queued an instruction commits in this process, so that the service's long
poll answers at once; the commit also calls what ``announce_queued`` set (the HTTP workers' doorbells on this
machine, ``gateway.workers.start_waiters_doorbell``). One queued on another host (a replica) is found by its poll."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.db.after_commit import call_after_commit, set_info
from gateway.db.models import utcnow
from gateway.matching.models import GcCreditLimit, GcInstruction, GcOrder, GcSequence
from gateway.matching.runner import AmendWire, InstructionWire, OrderWire, ReleaseWire
from gateway.settlement_records.bell import Bell

SEQUENCE = "instructions"
QUEUED = Bell()
ANNOUNCE = "reponet.gc.instructions.announce"  # ``Session.info`` key: called after a commit that queued instructions
RUNG_HERE = "gc_instructions_rung"  # ``Hub.extra``: other processes' instructions ring this process's ``QUEUED``


def announce_queued(sessions: sessionmaker[Session], announce: Callable[[], None]) -> None:
    """Sessions made by ``sessions`` that commit instructions call ``announce`` after the commit (as well as ringing
    ``QUEUED`` in this process)."""
    set_info(sessions, ANNOUNCE, announce)


def _ring(session: Session) -> None:
    QUEUED.ring()
    announce = session.info.get(ANNOUNCE)
    if callable(announce):
        announce()


def lock(session: Session) -> GcSequence:
    """The book's lock, held until the caller's transaction ends: new instructions take their sequence under it, and
    answers are recorded under it."""
    while True:
        row = session.get(GcSequence, SEQUENCE, with_for_update=True, populate_existing=True)
        if row is not None:
            return row
        try:
            with session.begin_nested():
                session.add(GcSequence(name=SEQUENCE, last=0))
        except IntegrityError:
            continue  # another writer created it meanwhile: lock theirs


def _next_sequence(session: Session) -> int:
    row = lock(session)
    row.last += 1
    return row.last


def add(
    session: Session, *, action: str, order_id: uuid.UUID | None = None, payload: dict[str, Any] | None = None
) -> GcInstruction:
    """Queue an instruction in the caller's transaction."""
    instruction = GcInstruction(sequence=_next_sequence(session), action=action, order_id=order_id, payload=payload)
    session.add(instruction)
    call_after_commit(session, "gc.instructions", _ring)
    return instruction


def set_credit_limit(
    session: Session, *, organization_id: uuid.UUID, counterparty_id: uuid.UUID, limit_units: int, book_units: int
) -> GcCreditLimit:
    """Record a member's own limit toward a counterparty and queue for the book what it counts of it
    (``book_units``: at most the pair's agreed cap, ``gateway.matching.credit_caps``)."""
    lock(session)  # one limit change at a time: the first for a pair is an insert
    row = session.get(GcCreditLimit, (organization_id, counterparty_id), populate_existing=True)
    if row is None:
        row = GcCreditLimit(organization_id=organization_id, counterparty_id=counterparty_id, limit_units="0")
        session.add(row)
    row.limit_units = str(limit_units)
    row.updated_at = utcnow()
    tell_limit(session, member=organization_id, counterparty=counterparty_id, limit_units=book_units)
    return row


def tell_limit(session: Session, *, member: uuid.UUID, counterparty: uuid.UUID, limit_units: int) -> None:
    """Queue a member's limit toward a counterparty, as the book is to count it."""
    add(
        session,
        action="credit_limit",
        payload={"member": str(member), "counterparty": str(counterparty), "limit_units": str(limit_units)},
    )


def after(session: Session, sequence: int, limit: int) -> list[InstructionWire]:
    """The instructions after ``sequence``, in order, as the service takes them."""
    rows = session.scalars(
        select(GcInstruction).where(GcInstruction.sequence > sequence).order_by(GcInstruction.sequence).limit(limit)
    ).all()
    ids = [r.order_id for r in rows if r.order_id]
    if not ids:  # the matching service's long poll asks this once a second or more while the book is quiet
        return [_wire(row, None) for row in rows]
    orders = {o.id: o for o in session.scalars(select(GcOrder).where(GcOrder.id.in_(ids)))}
    return [_wire(row, orders.get(row.order_id) if row.order_id else None) for row in rows]


def _wire(row: GcInstruction, order: GcOrder | None) -> InstructionWire:
    action: Any = row.action  # one of InstructionWire's actions: only this module writes them
    wire = InstructionWire(sequence=row.sequence, action=action, order=None, order_id=None, credit=None)
    if row.action == "submit" and order is not None:
        wire["order"] = OrderWire(
            order_id=str(order.id),
            member=str(order.organization_id),
            basket_id=order.basket_id,
            tenor=order.tenor,
            forward_start_days=order.forward_start_days,
            side=order.side,
            tif=order.tif,
            rate=order.rate,
            size_units=str(order.signed["size"]) if order.signed else order.size_units,  # as entered: amends follow
            min_fill_units=order.min_fill_units,
        )
    elif row.action in ("cancel", "expire", "withdraw"):
        wire["order_id"] = str(row.order_id)
    elif row.action == "amend" and row.payload is not None:
        wire["order_id"], wire["amend"] = str(row.order_id), AmendWire(size_units=str(row.payload["size_units"]))
    elif row.action == "credit_limit" and row.payload is not None:
        wire["credit"] = {k: str(v) for k, v in row.payload.items()}
    elif row.action == "release" and row.payload is not None:
        wire["release"] = ReleaseWire(
            lender=str(row.payload["lender"]),
            borrower=str(row.payload["borrower"]),
            amount_units=str(row.payload["amount_units"]),
        )
    return wire
