"""instruction.* events to the repo's parties, on the stream and by webhook: a counterparty learns of a proposed
substitution, amendment or early repurchase, of each signature, of its submission and of an approver's no without
polling (a step handed to a self-held seller's wallet is told once, as ``instruction.handed_out``; the repo's own
chain event tells when it is carried out). The parties are the repo's seller and holder as indexed, and the
organizations whose wallets must sign; nobody else. Sent after the write committed; no chain call."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy.orm import Session

from gateway.settlement.instructions import wallets_of
from gateway.settlement_records.models import Instruction, RepoRecord
from gateway.trading.announce import Announcer


class Change(StrEnum):
    CREATED = "instruction.created"
    SIGNED = "instruction.signed"
    SUBMITTED = "instruction.submitted"
    HANDED_OUT = "instruction.handed_out"  # first handed to a self-held seller's wallet (not yet seen on chain)
    REJECTED = "instruction.rejected"
    EXPIRED = "instruction.expired"  # past its deadline before it was carried out (gateway.indexer.expiry)


def parties(session: Session, instruction: Instruction) -> set[uuid.UUID]:
    record = session.get(RepoRecord, instruction.repo_id)
    found = {record.seller_org_id, record.holder_org_id} if record is not None else set()
    found |= {w.organization_id for w in wallets_of(session, list(instruction.required))}
    return {org for org in found if org is not None}


def announce(
    announcer: Announcer, session: Session, change: Change, instruction: Instruction, reason: str | None = None
) -> None:
    data: dict[str, str | None] = {
        "instruction_id": str(instruction.id),
        "repo_id": str(instruction.repo_id),
        "kind": instruction.kind,
        "status": instruction.status,
    }
    if reason is not None:
        data["reason"] = reason
    announcer.send(change.value, data, parties(session, instruction))
