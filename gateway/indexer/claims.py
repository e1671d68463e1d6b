"""The engine's claim ledger as the indexer follows it: what the engine holds for a party that could not receive a
payment (frozen, KYC lapsed, token paused), until the party collects it or a court order moves it. The chain stays
the golden record (``RepoEngine.claimOf``); this table lets ``/v1/claims`` answer without a chain call."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.addresses import checksum
from gateway.indexer.models import EngineClaim
from gateway.settlement_records.models import RepoEvent

CREDITED = "ClaimCredited"
CLEARED = ("ClaimPaid", "ClaimForced")  # both move the party's whole claim in the token
EVENTS = (CREDITED, *CLEARED)


def apply(session: Session, event: RepoEvent) -> None:
    """Add a credited amount to the party's claim in the token, or clear it when paid or forced."""
    party = checksum(str(event.args["party"]))
    token = str(event.args["token"]).lower()
    row = session.get(EngineClaim, (party, token))
    if event.name == CREDITED:
        amount = int(event.args["amount"])
        if row is None:
            session.add(EngineClaim(party=party, token=token, amount=str(amount), updated_block=event.block_number))
        else:
            row.amount, row.updated_block = str(int(row.amount) + amount), event.block_number
    elif row is not None:
        session.delete(row)
    session.flush()
