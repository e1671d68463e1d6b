"""The policy for lifecycle instructions (amendments, substitutions): the member's rules, evaluated on the facts of
the repo they change, with the same approver quorum as a trade (never the proposer, never the signer)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.exceptions import FourEyesViolation
from gateway.policy.engine import Decision, Rule, TradeFacts, evaluate
from gateway.policy.service import active_rules, facts_for, require
from gateway.settlement_records.models import Instruction, InstructionApproval, RepoRecord
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import Instrument, Trade


def proposer(instruction: Instruction) -> uuid.UUID | None:
    """The person who proposed the instruction (None: a service or the system)."""
    kind, _, ident = instruction.created_by.partition(":")
    try:
        return uuid.UUID(ident) if kind == "user" else None
    except ValueError:
        return None


def facts(session: Session, instruction: Instruction, organization_id: uuid.UUID) -> tuple[TradeFacts, list[Rule]]:
    """The facts of the repo the instruction changes, for this organization's side of it."""
    trade = session.scalars(select(Trade).where(Trade.repo_id == instruction.repo_id)).first()
    if trade is not None and organization_id in (trade.seller_org_id, trade.buyer_org_id):
        return facts_for(session, trade, "seller" if organization_id == trade.seller_org_id else "buyer")
    record = session.get(RepoRecord, instruction.repo_id)
    if record is None:
        raise InvalidState(f"repo {instruction.repo_id} is not in the gateway's records yet")
    cash = session.get(Instrument, record.cash_token.lower())
    notional = Decimal(int(record.purchase_price)).scaleb(-(cash.decimals if cash is not None else 0))
    counterparty = record.holder_org_id if organization_id == record.seller_org_id else record.seller_org_id
    return (
        TradeFacts(
            notional=notional,
            counterparty=str(counterparty),
            collateral=record.collateral_token,
            tenor_seconds=None if record.maturity == 0 else record.maturity - record.opened_at,
            period_notional={},
        ),
        active_rules(session, organization_id),
    )


def approvals(
    session: Session, instruction: Instruction, organization_id: uuid.UUID, *, excluding: uuid.UUID | None
) -> int:
    query = select(InstructionApproval.id).where(
        InstructionApproval.instruction_id == instruction.id, InstructionApproval.organization_id == organization_id
    )
    if excluding is not None:
        query = query.where(InstructionApproval.user_id != excluding)
    return len(session.scalars(query).all())


def enforce(session: Session, instruction: Instruction, organization_id: uuid.UUID, *, signer: uuid.UUID) -> Decision:
    """Raise unless the organization may sign the instruction now."""
    found, rules = facts(session, instruction, organization_id)
    decision = evaluate(rules, found)
    return require(decision, "instruction", lambda: approvals(session, instruction, organization_id, excluding=signer))


def approve(
    session: Session, *, actor: str, user_id: uuid.UUID, organization_id: uuid.UUID, instruction: Instruction
) -> int:
    """An approver's yes for the organization; never the instruction's proposer."""
    if proposer(instruction) == user_id:
        raise FourEyesViolation("the proposer of an instruction cannot approve it")
    if instruction.status != "pending":
        raise InvalidState(f"the instruction is {instruction.status}")
    exists = session.execute(
        select(InstructionApproval).where(
            InstructionApproval.instruction_id == instruction.id, InstructionApproval.user_id == user_id
        )
    ).scalar_one_or_none()
    if exists is None:
        session.add(
            InstructionApproval(instruction_id=instruction.id, organization_id=organization_id, user_id=user_id)
        )
        audit_log.append(
            session,
            actor=actor,
            action="instruction.approved",
            object_type="instruction",
            object_id=str(instruction.id),
            change={"organization": str(organization_id)},
        )
        session.commit()
    return approvals(session, instruction, organization_id, excluding=None)
