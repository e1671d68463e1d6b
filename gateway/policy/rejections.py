"""An approver's no: it ends a pending trade (cancelled) or lifecycle instruction (rejected) for every party, with
the reason the people who asked for it read.

Only before the organization's own side has signed: once a signature of the organization exists, a no would hide
a consent already given (the counterparty may hold it). The status changes by a conditional update, so a signature
committed meanwhile wins and the rejection is refused rather than both being recorded."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.settlement_records.models import Instruction
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import Rejection, Subject, Trade, TradeStatus


def _record(
    session: Session, *, actor: str, subject: Subject, subject_id: uuid.UUID, organization_id: uuid.UUID,
    user_id: uuid.UUID, reason: str, change: dict[str, str],
) -> None:  # fmt: skip
    session.add(
        Rejection(
            subject=subject.value,
            subject_id=subject_id,
            organization_id=organization_id,
            user_id=user_id,
            reason=reason,
        )
    )
    audit_log.append(
        session,
        actor=actor,
        action=f"{subject.value}.rejected",
        object_type=subject.value,
        object_id=str(subject_id),
        change={**change, "organization": str(organization_id), "reason": reason},
    )


def reject_trade(
    session: Session, *, actor: str, user_id: uuid.UUID, organization_id: uuid.UUID, trade: Trade, side: str,
    reason: str,
) -> None:  # fmt: skip
    """Cancel the trade for both parties, if it still waits for this side's signature."""
    signature = Trade.seller_signature if side == "seller" else Trade.buyer_signature
    done = session.execute(
        update(Trade)
        .where(Trade.id == trade.id, Trade.status == TradeStatus.PENDING_SIGNATURES.value, signature.is_(None))
        .values(status=TradeStatus.CANCELLED.value)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        refreshed = session.get(Trade, trade.id)
        status = refreshed.status if refreshed is not None else "gone"
        raise InvalidState(f"the trade is {status}, or your side has signed it: it cannot be rejected now")
    _record(
        session, actor=actor, subject=Subject.TRADE, subject_id=trade.id, organization_id=organization_id,
        user_id=user_id, reason=reason, change={"side": side},
    )  # fmt: skip
    session.commit()
    session.refresh(trade)


def reject_instruction(
    session: Session, *, actor: str, user_id: uuid.UUID, organization_id: uuid.UUID, instruction: Instruction,
    own_addresses: set[str], reason: str,
) -> None:  # fmt: skip
    """Reject the instruction for every party, if none of ``own_addresses`` (the organization's wallets among its
    required signers) has signed it yet."""
    if instruction.status != "pending":
        raise InvalidState(f"the instruction is {instruction.status}")
    if any(a in instruction.signatures for a in own_addresses):
        raise InvalidState("your side has signed the instruction: it cannot be rejected now")
    done = session.execute(
        update(Instruction)
        .where(Instruction.id == instruction.id, Instruction.status == "pending")
        .values(status="rejected")
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise InvalidState("the instruction is no longer pending")
    _record(
        session, actor=actor, subject=Subject.INSTRUCTION, subject_id=instruction.id,
        organization_id=organization_id, user_id=user_id, reason=reason, change={"repo": str(instruction.repo_id)},
    )  # fmt: skip
    session.commit()
    session.refresh(instruction)
