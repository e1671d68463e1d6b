"""What the relayer is asked to send: a settlement's steps (``StepSpec``), recorded by ``enqueue`` in the caller's
database transaction, so a request and its chain work commit together (the outbox). The relayer's loop
(``gateway.settlement.relay_loop``) sends them (``sending``) and follows them to finality (``receipts``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session
from web3 import Web3

from gateway.settlement_records import parties
from gateway.settlement_records.models import ChainStep, Settlement


@dataclass(frozen=True)
class StepSpec:
    """One transaction to send: ``sender_wallet_id`` None sends from the relayer's operator account; a custodial
    wallet's step carries the member's consent (``consent_id``), without which the custody door will not sign."""

    label: str
    to: str
    data: str
    sender: str
    sender_wallet_id: uuid.UUID | None = None
    consent_id: uuid.UUID | None = None


def enqueue(
    session: Session,
    *,
    kind: str,
    requested_by: str,
    steps: list[StepSpec],
    organization_id: uuid.UUID | None = None,
    trade_id: uuid.UUID | None = None,
    repo_id: int | None = None,
) -> Settlement:
    """Record a settlement, its parties and its steps in the caller's transaction (the caller commits)."""
    settlement = Settlement(
        id=uuid.uuid4(),
        kind=kind,
        organization_id=organization_id,
        requested_by=requested_by,
        trade_id=trade_id,
        repo_id=repo_id,
    )
    session.add(settlement)
    session.flush()  # the steps and parties reference it (no ORM relationship orders the inserts)
    parties.of_new_settlement(session, settlement)
    for seq, spec in enumerate(steps):
        session.add(
            ChainStep(
                settlement_id=settlement.id,
                seq=seq,
                label=spec.label,
                sender=Web3.to_checksum_address(spec.sender),
                sender_wallet_id=spec.sender_wallet_id,
                consent_id=spec.consent_id,
                to=Web3.to_checksum_address(spec.to),
                data=spec.data,
            )
        )
    return settlement
