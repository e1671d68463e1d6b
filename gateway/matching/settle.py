"""A fill becomes a repo on its opening day: at once for a same-day tenor, the relayer's account (the matcher both
orders name) sending ``settleGcFill`` with the two signed orders, after any token approval a custodial wallet lacks
(following from its consent to its order). A tom-next or forward-starting fill is ``scheduled`` until the chain's
clock reaches its opening day (``gateway.matching.scheduled`` then plans and queues it the same way).

Which bond and how much is read from the chain before the write transaction (``plan``): the first bond of the basket
the borrower holds enough of, at the least amount whose haircut value covers the cash, exactly as the engine checks
(``contracts.gc.least_collateral``). A fill no bond can cover is recorded as failed, with the reason."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from contracts import eip712, gc
from gateway.chain.bindings.tokens import Token
from gateway.custody import door
from gateway.db import audit_log
from gateway.db.models import Wallet, WalletKind
from gateway.matching import baskets, credit_release, instructions, market_data, nonce_void
from gateway.matching.entry import LIVE, signed_message
from gateway.matching.models import FillStatus, GcBasketRow, GcFill, GcInstruction, GcOrder
from gateway.settlement.approvals import approve_step, needs_approve
from gateway.settlement.market import Market
from gateway.settlement_records.models import ChainStep, RepoRecord, Settlement, StepStatus
from gateway.settlement_records.steps import StepSpec, enqueue

KIND = "gc_fill"
SCHEDULED, SETTLING = FillStatus.SCHEDULED.value, FillStatus.SETTLING.value
SETTLED, FAILED = FillStatus.SETTLED.value, FillStatus.FAILED.value
LEND, BORROW = "lend", "borrow"
# how long after an order's trading day an answer matching it may still be recorded (a match made at 23:59:59)
LATE_ANSWER_SECONDS = 60
UNSETTLEABLE = "the fill could not settle"  # all a member reads: the reason may name the other side


@dataclass(frozen=True)
class FillPlan:
    """How one fill settles, as read from the chain: the bond, its least covering amount and the approvals needed;
    or why it cannot (``failure``)."""

    bond: int = -1
    collateral_amount: int = 0
    lender_approves: bool = False
    borrower_approves: bool = False
    failure: str | None = None  # what the members read: it names neither side nor its holdings
    detail: str | None = None  # what the audit trail keeps
    at_fault: str | None = None  # "lend" or "borrow": the order whose member could not settle (it is withdrawn)
    opens_at: int | None = None  # its opening day has not begun: the fill waits (``scheduled``) until this time
    passing: bool = False  # the failure may pass (no bond priced now): a scheduled fill tries again within its day


@dataclass(frozen=True)
class FillParties:
    lend: GcOrder
    borrow: GcOrder
    basket: GcBasketRow


def parties_of(session: Session, fill: GcFill) -> FillParties:
    """A recorded fill's two orders and basket."""
    lend, borrow = session.get(GcOrder, fill.lend_order_id), session.get(GcOrder, fill.borrow_order_id)
    assert lend is not None and borrow is not None
    return FillParties(lend=lend, borrow=borrow, basket=baskets.load_basket(session, fill.basket_id))


def plan(market: Market, session: Session, parties: FillParties, amount: int, *, at_match: bool = False) -> FillPlan:
    """Choose the collateral of a fill of ``amount`` (chain reads: call before the write transaction). A fill the
    engine would refuse (orders signed for other days, deadlines passed, the lender short of cash, no bond of the
    basket held or priced) gets a ``failure`` instead, and no transaction.

    ``at_match``: the book's answer is being recorded. A match recorded after either order's trading day ended is
    refused (the book had to expire them: a late answer cannot trade yesterday's orders at today's rates). A fill
    whose opening day is later is checked now all the same (the lender's cash, the borrower's bond, a self-held
    wallet's approvals), so a member who could not settle it is withdrawn today, not after the other side's order
    has expired; it is then ``scheduled`` and planned again on its day."""
    for side, order in ((LEND, parties.lend), (BORROW, parties.borrow)):
        if "start" not in (order.signed or {}):  # signed under the engine's earlier GcOrder type: it would revert
            return FillPlan(failure=UNSETTLEABLE, detail="an order signed before the upgrade", at_fault=side)
    lend, borrow = signed_message(parties.lend), signed_message(parties.borrow)
    if (lend["start"], lend["maturity"], lend["cashToken"], lend["basket"]) != (
        borrow["start"],
        borrow["maturity"],
        borrow["cashToken"],
        borrow["basket"],
    ):
        return FillPlan(failure=UNSETTLEABLE, detail="the orders were signed for different days or baskets")
    now = market.now()
    if at_match and now > min(_expiry(parties.lend), _expiry(parties.borrow)) + LATE_ANSWER_SECONDS:
        return FillPlan(failure=UNSETTLEABLE, detail="an order's trading day had ended before the match was recorded")
    if now > min(lend["deadline"], borrow["deadline"]):
        return FillPlan(failure=UNSETTLEABLE, detail="the fill's opening day had ended")
    chosen = _collateral(market, session, parties, amount, lend, borrow)
    if now < lend["start"] and (chosen.failure is None or chosen.passing):
        return FillPlan(opens_at=lend["start"])  # no price this morning says nothing of its day's
    return chosen


def _expiry(order: GcOrder) -> int:
    return order.expires_at if order.expires_at is not None else int(signed_message(order)["deadline"])


def _collateral(
    market: Market, session: Session, parties: FillParties, amount: int, lend: eip712.GcOrder, borrow: eip712.GcOrder
) -> FillPlan:
    """The holdings and approvals part of ``plan``."""
    basket = baskets.as_basket(parties.basket)
    cash = parties.basket.cash_token
    if Token(market.token(cash)).balance_of(lend["maker"]) < amount:
        return FillPlan(failure=UNSETTLEABLE, detail="the lender holds too little cash", at_fault=LEND)
    priced = False
    for index, bond in enumerate(basket.bonds):
        try:
            price, _ = market.oracle.functions.getPrice(bond.token, cash).call()
        except ContractLogicError:  # no price, or a stale one: this bond cannot be valued now
            continue
        priced = True
        least = gc.least_collateral(amount, int(price), bond.haircut_bps)
        if Token(market.token(bond.token)).balance_of(borrow["maker"]) < least:
            continue
        borrow_wallet = session.get(Wallet, parties.borrow.wallet_id)
        lend_wallet = session.get(Wallet, parties.lend.wallet_id)
        assert borrow_wallet is not None and lend_wallet is not None
        for side, wallet, token, needed in (
            (BORROW, borrow_wallet, bond.token, least),
            (LEND, lend_wallet, cash, amount),
        ):
            if _unapproved_self_held(market, wallet, token, needed):
                detail = f"self-held wallet {wallet.address} has not approved the engine"
                return FillPlan(failure=UNSETTLEABLE, detail=detail, at_fault=side)
        return FillPlan(
            bond=index,
            collateral_amount=least,
            borrower_approves=needs_approve(market, borrow_wallet, bond.token, least),
            lender_approves=needs_approve(market, lend_wallet, cash, amount),
        )
    return FillPlan(
        failure=UNSETTLEABLE,
        detail="no bond of the basket held by the borrower covers the cash at a current price",
        at_fault=BORROW if priced else None,  # no price at all is nobody's want: neither order is withdrawn
        passing=not priced,
    )


def enqueue_fill(session: Session, market: Market, fill: GcFill, parties: FillParties, chosen: FillPlan) -> None:
    """Queue the fill's approvals and ``settleGcFill`` (the caller commits), record why it cannot settle, or keep it
    ``scheduled`` for its opening day."""
    if chosen.opens_at is not None:
        fill.status, fill.opens_at = SCHEDULED, chosen.opens_at
        _audit(session, fill, "gc.fill.scheduled", {"opens_at": chosen.opens_at})
        return
    if chosen.failure is not None:
        fill.status, fill.failure = FAILED, chosen.failure
        _audit(session, fill, "gc.fill.failed", {"reason": chosen.detail or chosen.failure})
        credit_release.release_fill(session, fill)
        if chosen.at_fault is not None:
            _withdraw(session, parties.lend if chosen.at_fault == LEND else parties.borrow, chosen.detail)
        session.flush()
        nonce_void.after_fill(session, market, fill)
        return
    basket = baskets.as_basket(parties.basket)
    bond = basket.bonds[chosen.bond]
    steps: list[StepSpec] = []
    for order, approves, token in (
        (parties.borrow, chosen.borrower_approves, bond.token),
        (parties.lend, chosen.lender_approves, parties.basket.cash_token),
    ):
        wallet = session.get(Wallet, order.wallet_id)
        assert wallet is not None
        if approves:
            steps += door.follow_from(
                session, wallet=wallet, subject=f"gc-order/{order.id}", specs=[approve_step(market, wallet, token)]
            )
    args = gc.settle_args(
        signed_message(parties.lend),
        bytes.fromhex(str(parties.lend.signature)[2:]),
        signed_message(parties.borrow),
        bytes.fromhex(str(parties.borrow.signature)[2:]),
        basket,
        gc.GcFill(int(fill.amount_units), int(fill.rate), chosen.bond, chosen.collateral_amount),
    )
    data = market.encode(market.engine, "settleGcFill", *args)
    steps.append(StepSpec(label="settleGcFill", to=market.engine_address, data=data, sender=market.relayer.address))
    settlement = enqueue(session, kind=KIND, requested_by="system:matching", steps=steps)
    fill.status, fill.settlement_id = SETTLING, settlement.id
    fill.collateral_token, fill.collateral_amount = bond.token, str(chosen.collateral_amount)


def _withdraw(session: Session, order: GcOrder, why: str | None) -> None:
    """Take the order whose member could not settle out of the book (once): it would fail every fill it made, and
    each would use up the other side's order."""
    if order.status not in LIVE:
        return
    asked = session.scalars(
        select(GcInstruction.sequence).where(GcInstruction.order_id == order.id, GcInstruction.action == "withdraw")
    ).first()
    if asked is None:
        instructions.add(session, action="withdraw", order_id=order.id)
        audit_log.append(
            session, actor="system:matching", action="gc.order.withdrawn", object_type="gc_order",
            object_id=str(order.id), change={"reason": why or UNSETTLEABLE},
        )  # fmt: skip


def _unapproved_self_held(market: Market, wallet: Wallet, token: str, amount: int) -> bool:
    """A self-held wallet's allowance to the engine is its own to give: below ``amount``, the fill cannot settle."""
    if wallet.kind == WalletKind.CUSTODIAL.value:
        return False
    return int(Token(market.token(token)).allowance(wallet.address, market.engine_address)) < amount


def _fill_of(session: Session, settlement: Settlement) -> GcFill | None:
    return session.scalars(select(GcFill).where(GcFill.settlement_id == settlement.id)).one_or_none()


def on_final(session: Session, settlement: Settlement, steps: list[ChainStep], market: Market) -> None:
    """The fill's repo is open: its id from ``GcFillSettled``."""
    fill = _fill_of(session, settlement)
    step = next((s for s in steps if s.label == "settleGcFill"), None)
    if fill is None or step is None or step.tx_hash is None:
        return
    receipt = market.receipt(step.tx_hash)
    events = market.engine.events.GcFillSettled().process_receipt(receipt, errors=DISCARD)
    if not events:
        return
    fill.repo_id = int(events[0]["args"]["repoId"])
    fill.status = SETTLED
    indexed = session.get(RepoRecord, fill.repo_id)
    if indexed is not None:  # the indexer got there first: a repo already ended gives its credit back now
        credit_release.repo_ended(session, fill.repo_id, indexed.status)
    settlement.repo_id = fill.repo_id
    _audit(session, fill, "gc.fill.settled", {"repo_id": fill.repo_id, "tx_hash": step.tx_hash})
    market_data.announce_settled(session, fill)
    session.flush()
    nonce_void.after_fill(session, market, fill)


def on_failed(session: Session, settlement: Settlement, steps: list[ChainStep], market: Market) -> None:
    fill = _fill_of(session, settlement)
    if fill is None:
        return
    failed = next((s for s in steps if s.status in (StepStatus.REVERTED.value, StepStatus.FAILED.value)), None)
    fill.status, fill.failure = FAILED, UNSETTLEABLE  # the revert may name the other side: the audit keeps it
    _audit(session, fill, "gc.fill.failed", {"reason": (failed.error if failed is not None else None) or "failed"})
    credit_release.release_fill(session, fill)
    session.flush()
    nonce_void.after_fill(session, market, fill)


def _audit(session: Session, fill: GcFill, action: str, change: dict[str, object]) -> None:
    audit_log.append(
        session,
        actor="system:matching",
        action=action,
        object_type="gc_fill",
        object_id=str(fill.sequence),
        change={**change, "amount": fill.amount_units, "rate": fill.rate},
    )


HOOKS = {KIND: on_final}
FAILURE_HOOKS = {KIND: on_failed}
