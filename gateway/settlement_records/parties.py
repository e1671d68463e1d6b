"""Who is party to a settlement, written when it is known rather than worked out on every read: the organization
that asked for it, both sides of the trade it opens, and every organization whose wallet had to sign the instruction
it carries out (the first signer as much as the one whose signature queued it). The settlement list and the single
read (``gateway.settlement.visibility``) look only here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.db.models import Wallet
from gateway.settlement_records.models import Instruction, InstructionStatus, Settlement, SettlementParty
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


# the chain events that carry out an instruction a self-held seller's wallet sends, and the instruction's kind
_SENT_BY_THE_SELLER = {"CollateralSubstituted": "Substitution", "RepoRepurchased": "EarlyRepurchase"}


def seen_on_chain(session: Session, event_name: str, args: dict[str, object], repo_id: int) -> None:
    """A substitution or early repurchase in a block: the repo's instruction of that kind whose transaction was
    handed out to the seller's wallet is submitted (its nonce is spent on chain: none other of the kind could go)."""
    kind = _SENT_BY_THE_SELLER.get(event_name)
    if kind is None or (event_name == "RepoRepurchased" and not args.get("early")):
        return
    session.execute(
        update(Instruction)
        .where(
            Instruction.repo_id == repo_id,
            Instruction.kind == kind,
            Instruction.status == InstructionStatus.HANDED_OUT,
        )
        .values(status=InstructionStatus.SUBMITTED)
    )
