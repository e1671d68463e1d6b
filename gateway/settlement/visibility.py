"""Who sees a settlement: the organization that asked for it, both parties to the trade it opens, and every
party whose wallet had to sign the instruction it carries out (the first signer as much as the one whose
signature queued it). Everyone else gets 404, as for anything not theirs."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, func, or_, select, union
from sqlalchemy.orm import Session

from gateway.db.models import Wallet
from gateway.settlement_records.models import Instruction, RepoRecord, Settlement
from gateway.trading.models import Trade


def _addresses(session: Session, organization_id: uuid.UUID) -> set[str]:
    query = select(func.lower(Wallet.address)).where(Wallet.organization_id == organization_id)
    return set(session.scalars(query))


def _trades_of(organization_id: uuid.UUID) -> ColumnElement[bool]:
    return or_(Trade.seller_org_id == organization_id, Trade.buyer_org_id == organization_id)


def instruction_settlements(session: Session, organization_id: uuid.UUID) -> list[uuid.UUID]:
    """Settlements of instructions one of the organization's wallets had to sign (looked for among the repos it
    is or was a party to)."""
    repos = select(RepoRecord.repo_id).where(
        or_(RepoRecord.seller_org_id == organization_id, RepoRecord.holder_org_id == organization_id)
    )
    traded = select(Trade.repo_id).where(Trade.repo_id.is_not(None), _trades_of(organization_id))
    rows = session.execute(
        select(Instruction.settlement_id, Instruction.required).where(
            Instruction.settlement_id.is_not(None), or_(Instruction.repo_id.in_(repos), Instruction.repo_id.in_(traded))
        )
    ).all()
    if not rows:  # most pages: no instruction to match, so the organization's wallets are not read
        return []
    mine = _addresses(session, organization_id)
    return [sid for sid, required in rows if sid is not None and mine & {str(a).lower() for a in required}]


def visible_to(session: Session, organization_id: uuid.UUID) -> ColumnElement[bool]:
    """The condition on ``Settlement`` rows the organization may list: the id among a union of indexed lookups
    (by organization, by its trades, by its instructions). An ``OR`` of the three conditions made the database scan
    every settlement; the union reads only the organization's own."""
    arms = [
        select(Settlement.id).where(Settlement.organization_id == organization_id),
        select(Settlement.id).where(Settlement.trade_id.in_(select(Trade.id).where(_trades_of(organization_id)))),
    ]
    signed = instruction_settlements(session, organization_id)
    if signed:
        arms.append(select(Settlement.id).where(Settlement.id.in_(signed)))
    visible = union(*arms)  # one flat compound select: SQLite refuses a parenthesized one inside another
    return Settlement.id.in_(visible)


def may_see(session: Session, settlement: Settlement, organization_id: uuid.UUID) -> bool:
    """Whether the organization is a party to this one settlement."""
    if settlement.organization_id == organization_id:
        return True
    if settlement.trade_id is not None:
        trade = session.get(Trade, settlement.trade_id)
        if trade is not None and organization_id in (trade.seller_org_id, trade.buyer_org_id):
            return True
    query = select(Instruction.required).where(Instruction.settlement_id == settlement.id)
    signers = {str(a).lower() for required in session.scalars(query) for a in required}
    return bool(signers and signers & _addresses(session, organization_id))
