"""Who is party to a settlement, written when it is known rather than worked out on every read: the organization
that asked for it, both sides of the trade it opens, and every organization whose wallet had to sign the instruction
it carries out (the first signer as much as the one whose signature queued it). The settlement list and the single
read (``gateway.settlement.visibility``) look only here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.db.models import Wallet
from gateway.settlement_records.models import SENDABLE, Instruction, InstructionStatus, Settlement, SettlementParty
from gateway.trading.models import Trade


def record(
    session: Session, settlement: Settlement, organizations: Iterable[uuid.UUID | None], *, new: bool = False
) -> None:
    """Adds the organizations not yet party to ``settlement`` (in the caller's transaction); a ``new`` settlement
    has none yet, so they are not read."""
    wanted = {o for o in organizations if o is not None}
    if not wanted:
        return
    known: set[uuid.UUID] = set()
    if not new:
        query = select(SettlementParty.organization_id).where(SettlementParty.settlement_id == settlement.id)
        known = set(session.scalars(query))
    for organization_id in wanted - known:
        session.add(
            SettlementParty(
                settlement_id=settlement.id, organization_id=organization_id, created_at=settlement.created_at
            )
        )


def of_new_settlement(session: Session, settlement: Settlement) -> None:
    """A settlement just enqueued: the organization that asked, and both sides of the trade it opens."""
    organizations: list[uuid.UUID | None] = [settlement.organization_id]
    if settlement.trade_id is not None:
        trade = session.get(Trade, settlement.trade_id)
        if trade is not None:
            organizations += [trade.seller_org_id, trade.buyer_org_id]
    record(session, settlement, organizations, new=True)


def link_instruction(session: Session, instruction: Instruction, settlement: Settlement) -> None:
    """The instruction is carried out by ``settlement``: every organization whose wallet had to sign it is party."""
    instruction.settlement_id = settlement.id
    signers = {str(a).lower() for a in instruction.required}
    if not signers:
        return
    organizations = session.scalars(
        select(Wallet.organization_id).where(func.lower(Wallet.address).in_(signers)).distinct()
    )
    record(session, settlement, organizations)


# the chain events after which a handed-out instruction on the repo may have been carried out
SENT_BY_THE_SELLER = frozenset({"CollateralSubstituted", "RepoRepurchased"})


@dataclass(frozen=True)
class HandedOut:
    """A handed-out instruction, and whose nonce it spends when the engine carries it out (the holder who signed), as
    stored (read by the caller, which must survive a row it cannot read)."""

    id: uuid.UUID
    signer: str
    nonce: str


def handed_out(session: Session, repo_ids: Iterable[int]) -> list[HandedOut]:
    """The instructions whose transaction is with a self-held seller's wallet, on these repos."""
    rows = session.scalars(
        select(Instruction).where(
            Instruction.repo_id.in_(sorted(set(repo_ids))), Instruction.status == InstructionStatus.HANDED_OUT
        )
    )
    return [HandedOut(row.id, str(row.required[0]), str(row.message.get("nonce"))) for row in rows if row.required]


@dataclass(frozen=True)
class Overdue:
    """A pending or handed-out instruction whose deadline a final block has passed: carried out already if one of
    its signers' nonce is spent (sent outside the gateway, or not yet seen), else never to be."""

    id: uuid.UUID
    status: str
    deadline: int
    nonce: int
    signers: tuple[str, ...]


def overdue(session: Session, chain_time: int) -> list[Overdue]:
    """The pending or handed-out instructions whose deadline ``chain_time`` (a final block's) has passed. A row
    without a readable deadline or nonce is left alone: it is not the sweep's to end."""
    found: list[Overdue] = []
    for row in session.scalars(select(Instruction).where(Instruction.status.in_(SENDABLE))):
        try:
            deadline, nonce = int(row.message["deadline"]), int(row.message["nonce"])
        except (KeyError, TypeError, ValueError):
            continue
        if chain_time > deadline:
            found.append(Overdue(row.id, row.status, deadline, nonce, tuple(str(a) for a in row.required or ())))
    return found


def expire(session: Session, ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """``expired``, each only if still pending or handed out when written (a rejection or a submission that
    committed since it was read stands); the ids it ended."""
    ended: list[uuid.UUID] = []
    for chosen in sorted(set(ids)):
        result = session.execute(
            update(Instruction)
            .where(Instruction.id == chosen, Instruction.status.in_(SENDABLE))
            .values(status=InstructionStatus.EXPIRED)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            ended.append(chosen)
    return ended


def carried_out(
    session: Session, ids: Iterable[uuid.UUID], statuses: tuple[str, ...] = (InstructionStatus.HANDED_OUT,)
) -> None:
    """Instructions whose nonce the engine has spent: submitted (on chain). Handed-out ones as the indexer sees
    their step; also pending ones past their deadline, which their signers sent themselves."""
    chosen = sorted(set(ids))
    if not chosen:
        return
    session.execute(
        update(Instruction)
        .where(Instruction.id.in_(chosen), Instruction.status.in_(statuses))
        .values(status=InstructionStatus.SUBMITTED)
    )
