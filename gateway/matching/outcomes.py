"""The matching service's answers, recorded: each order's status and filled amount, each fill, and each fill's
settlement queued (``gateway.matching.settle``).

The gateway checks every fill against the two orders as their members signed them before it records anything (the
engine checks again on chain): a lend and a borrow order of two members, in one instrument, the rate within both
bounds, the amount at least both minimum fills, neither order filled beyond its size, neither order ended (filled,
cancelled, expired) nor cancelled by an instruction the service had already taken, and a credit limit both ways
between the two members. An outcome that breaks one is refused whole (400) and the service stops there: a matcher
that answers wrongly halts the book rather than settle what was not agreed.

Answers are recorded one at a time and in sequence, under the lock that orders the instructions
(``instructions.lock``): the checks run again there on the current rows, so two services answering at once (a
second under ``--replicas``) cannot both record, nor record out of order. A repeated answer changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.db.models import utcnow
from gateway.exceptions import Conflict, InvalidRequest, NotFound
from gateway.matching import baskets, instructions, nonce_void
from gateway.matching.entry import LIVE, PENDING
from gateway.matching.models import GcFill, GcInstruction, GcOrder
from gateway.matching.orders import CancelReason, OrderStatus, Side
from gateway.matching.schemas import FillIn, OutcomeIn
from gateway.matching.settle import FillParties, FillPlan, enqueue_fill
from gateway.settlement.market import Market

ENDED = frozenset({OrderStatus.FILLED.value, OrderStatus.CANCELLED.value, OrderStatus.EXPIRED.value,
                   OrderStatus.REJECTED.value})  # fmt: skip


@dataclass
class Prepared:
    """An outcome checked against the orders: its fills with their orders and basket."""

    answered: bool
    fills: list[tuple[FillIn, FillParties]] = field(default_factory=list)
    submitted: uuid.UUID | None = None  # the order a ``submit`` instruction entered
    amended: tuple[uuid.UUID, int] | None = None  # the order an ``amend`` instruction lowers, and its new size


def prepare(session: Session, body: OutcomeIn) -> Prepared:
    """Check an outcome against the orders as they stand in ``session``; ``answered`` when it was recorded before."""
    instruction = session.get(GcInstruction, body.sequence)
    if instruction is None:
        raise NotFound(f"no GC instruction {body.sequence}")
    if instruction.answered_at is not None:
        return Prepared(answered=True)
    earlier = session.scalar(
        select(func.min(GcInstruction.sequence)).where(
            GcInstruction.sequence < body.sequence, GcInstruction.answered_at.is_(None)
        )
    )
    if earlier is not None:
        raise Conflict(f"instruction {earlier} is not answered yet: answers are recorded in sequence")
    sequences = [f.sequence for f in body.fills]
    if len(set(sequences)) != len(sequences) or session.scalar(
        select(func.count()).select_from(GcFill).where(GcFill.sequence.in_(sequences))
    ):
        raise InvalidRequest("a fill's sequence is repeated")
    ids = {f.lend_order_id for f in body.fills} | {f.borrow_order_id for f in body.fills}
    ids |= {o.order_id for o in body.orders}
    orders = {o.id: o for o in session.scalars(select(GcOrder).where(GcOrder.id.in_(ids)))}
    missing = ids - orders.keys()
    if missing:
        raise InvalidRequest(f"the outcome names unknown orders: {sorted(map(str, missing))}")
    withdrawn = set(
        session.scalars(
            select(GcInstruction.order_id).where(
                GcInstruction.order_id.in_(ids),
                GcInstruction.action.in_(("cancel", "expire", "withdraw")),
                GcInstruction.sequence < body.sequence,
            )
        )
    )
    filled = {order_id: int(order.filled_units) for order_id, order in orders.items()}
    prepared = Prepared(answered=False, submitted=instruction.order_id if instruction.action == "submit" else None)
    if instruction.action == "amend" and instruction.order_id is not None and instruction.payload is not None:
        prepared.amended = (instruction.order_id, int(instruction.payload["size_units"]))
    for fill in body.fills:
        lend, borrow = orders[fill.lend_order_id], orders[fill.borrow_order_id]
        _check_fill(fill, lend, borrow, filled)
        for order in (lend, borrow):
            if order.id in withdrawn:
                raise InvalidRequest(f"fill {fill.sequence}: order {order.id} was withdrawn before this instruction")
        _check_credit(session, fill, lend, borrow, body.sequence)
        prepared.fills.append(
            (fill, FillParties(lend=lend, borrow=borrow, basket=baskets.load_basket(session, lend.basket_id)))
        )
    return prepared


def _check_fill(fill: FillIn, lend: GcOrder, borrow: GcOrder, filled: dict[uuid.UUID, int]) -> None:
    amount, rate = int(fill.amount_units), int(fill.rate)
    if lend.side != Side.LEND.value or borrow.side != Side.BORROW.value:
        raise InvalidRequest(f"fill {fill.sequence}: not a lend order against a borrow order")
    if lend.organization_id == borrow.organization_id:
        raise InvalidRequest(f"fill {fill.sequence}: a member cannot trade with itself")
    if (lend.basket_id, lend.tenor, lend.forward_start_days) != (
        borrow.basket_id,
        borrow.tenor,
        borrow.forward_start_days,
    ):
        raise InvalidRequest(f"fill {fill.sequence}: the orders trade different instruments")
    if not int(lend.rate) <= rate <= int(borrow.rate):
        raise InvalidRequest(f"fill {fill.sequence}: rate {rate} outside the orders' bounds")
    for order in (lend, borrow):
        if amount < int(order.min_fill_units):
            raise InvalidRequest(f"fill {fill.sequence}: below order {order.id}'s minimum fill")
        filled[order.id] += amount
        if filled[order.id] > int(order.size_units):
            raise InvalidRequest(f"fill {fill.sequence}: order {order.id} would fill beyond its size")
        if order.status not in LIVE:
            raise InvalidRequest(f"fill {fill.sequence}: order {order.id} is {order.status}")


def _check_credit(session: Session, fill: FillIn, lend: GcOrder, borrow: GcOrder, sequence: int) -> None:
    """Both members gave the other a credit limit, as the book knew it when it took instruction ``sequence`` (the
    last ``credit_limit`` told before it): a member that never did (or set 0, or whose agreement caps the pair at 0)
    is never matched with it. A limit lowered after is the book's to apply from then on: checked against the current
    one, an honest answer would be refused and halt the book."""
    for member, other in (
        (lend.organization_id, borrow.organization_id),
        (borrow.organization_id, lend.organization_id),
    ):
        told = _told_limit(session, member, other, before=sequence)
        if told is None or told <= 0:
            raise InvalidRequest(f"fill {fill.sequence}: no credit limit between the two members")


def _told_limit(session: Session, member: uuid.UUID, other: uuid.UUID, *, before: int) -> int | None:
    """The last limit of ``member`` toward ``other`` queued for the book before instruction ``before``."""
    payloads = session.scalars(
        select(GcInstruction.payload)
        .where(GcInstruction.action == "credit_limit", GcInstruction.sequence < before)
        .order_by(GcInstruction.sequence.desc())
    )
    for payload in payloads:  # limit changes are few: the newest for the pair is near the top
        if payload and payload.get("member") == str(member) and payload.get("counterparty") == str(other):
            return int(payload["limit_units"])
    return None


def _outlives_its_day(row: GcOrder) -> bool:
    """A tom-next or forward order's signature stays good until its opening day ends, past its trading day: once it
    leaves the book it is voided on chain, so only the fills the book made of it can ever open."""
    return row.deadline is not None and row.expires_at is not None and row.deadline > row.expires_at


def record(session: Session, body: OutcomeIn, plans: dict[int, FillPlan], market: Market) -> bool:
    """Record the outcome and queue its fills' settlements (the caller commits); False if it was recorded before.
    Under the instructions' lock, with every check made again on the current rows."""
    instructions.lock(session)
    prepared = prepare(session, body)
    if prepared.answered:
        return False
    claimed = session.execute(
        update(GcInstruction)
        .where(GcInstruction.sequence == body.sequence, GcInstruction.answered_at.is_(None))
        .values(answered_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        return False
    now = utcnow()
    if body.refused is not None and prepared.submitted is not None:
        refused = session.get(GcOrder, prepared.submitted)
        if refused is not None and refused.status == PENDING:  # the book would not take it: it never rests
            refused.status, refused.cancel_reason, refused.updated_at = OrderStatus.REJECTED.value, "refused", now
    if body.refused is None and prepared.amended is not None:  # the book took the lower size: so does the gateway
        amended = session.get(GcOrder, prepared.amended[0])
        if amended is not None and amended.status in LIVE:
            amended.size_units, amended.updated_at = str(prepared.amended[1]), now
    ids = {f.lend_order_id for f in body.fills} | {f.borrow_order_id for f in body.fills}
    ids |= {o.order_id for o in body.orders}
    rows = {o.id: o for o in session.scalars(select(GcOrder).where(GcOrder.id.in_(ids)))}
    leaving: list[GcOrder] = []
    for state in body.orders:
        row = rows[state.order_id]
        if row.status in ENDED:
            continue  # an ended order stays ended, whatever an answer says
        status = OrderStatus.EXPIRED.value if state.cancel_reason == CancelReason.SESSION_END.value else state.status
        row.status, row.cancel_reason, row.updated_at = status, state.cancel_reason, now
        if row.priority == 0:
            row.priority = body.sequence
        if status in (OrderStatus.EXPIRED.value, OrderStatus.CANCELLED.value) and _outlives_its_day(row):
            if state.cancel_reason != CancelReason.MEMBER.value:  # a member's cancel voided it already
                leaving.append(row)
    for fill, parties in prepared.fills:
        amount = int(fill.amount_units)
        for order_id in (fill.lend_order_id, fill.borrow_order_id):
            row = rows[order_id]
            row.filled_units = str(int(row.filled_units) + amount)
            if int(row.filled_units) >= int(row.size_units) and row.status in LIVE:
                row.status = OrderStatus.FILLED.value
            row.updated_at = now
        lend = parties.lend
        entry = GcFill(
            sequence=fill.sequence,
            lend_order_id=fill.lend_order_id,
            borrow_order_id=fill.borrow_order_id,
            basket_id=lend.basket_id,
            tenor=lend.tenor,
            forward_start_days=lend.forward_start_days,
            rate=str(int(fill.rate)),
            amount_units=str(amount),
            aggressor=Side.LEND.value if rows[fill.lend_order_id].priority == body.sequence else Side.BORROW.value,
        )
        session.add(entry)
        session.flush()
        enqueue_fill(session, market, entry, parties, plans[fill.sequence])
    session.flush()
    for row in leaving:  # after this answer's fills: the void waits for those of them still to open
        nonce_void.void(session, market, row, actor="system:matching")
    return True
