"""Who sees a settlement: the organization that asked for it, both parties to the trade it opens, and every
party whose wallet had to sign the instruction it carries out (the first signer as much as the one whose
signature queued it), as recorded in ``settlement_parties`` when each became known
(``gateway.settlement_records.parties``). Everyone else gets 404, as for anything not theirs."""

from __future__ import annotations

import uuid

from sqlalchemy import BindParameter, ColumnElement, select
from sqlalchemy.orm import Session

from gateway.settlement_records.models import Settlement, SettlementParty


def party_of(organization_id: uuid.UUID | BindParameter[uuid.UUID]) -> ColumnElement[bool]:
    """The condition on ``SettlementParty`` rows of the organization (or of a parameter naming it): joined to the
    settlements, the list is one range of the parties' (organization, created_at, settlement) index in the list's
    order."""
    return SettlementParty.organization_id == organization_id


def may_see(session: Session, settlement: Settlement, organization_id: uuid.UUID) -> bool:
    """Whether the organization is a party to this one settlement."""
    found = session.scalar(
        select(SettlementParty.settlement_id).where(
            SettlementParty.settlement_id == settlement.id, SettlementParty.organization_id == organization_id
        )
    )
    return found is not None
