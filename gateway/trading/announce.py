"""RFQ, quote and approval events to the parties concerned, on the WebSocket stream and by webhook: a counterparty
learns of a request, a quote, an acceptance or an approver's decision without polling. Only the organizations a
message concerns receive it: an RFQ its requester and the lenders it names (all members when it names none); a
quote the requester and the quoter (other lenders never see a competitor's quote); an acceptance the requester and
the winning lender, and each other quoter that its quote expired; a trade's rejection both parties; an approval,
or a signature held back for approvers, the signing organization alone.
Sent after the write committed; no chain call."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import Organization
from gateway.trading.models import Quote, Rfq, Trade

logger = logging.getLogger(__name__)


class Announcer:
    """Publishes one message to the hub's bus (the stream) and queues it for the organizations' webhooks."""

    def __init__(self, bus: Any, session: Session, *, relay: bool = False) -> None:
        self.bus = bus
        self.session = session  # the request's: it holds the write lock (SQLite) once the request has written
        # relay: told through the database (gateway.events.relayed) in the caller's own transaction, which commits it
        # with the change it tells (the indexer's process serves no stream); else published, then committed apart
        self.relay = relay

    def send(self, kind: str, data: dict[str, str | None], organizations: set[uuid.UUID]) -> None:
        from gateway.events.relayed import record
        from gateway.events.webhooks import enqueue_in

        event = {
            "id": None,  # not a chain event: not replayed by ``since``
            "event_id": uuid.uuid4().hex,
            "type": kind,
            "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        }
        if self.relay:
            record(self.session, event, organizations)
            enqueue_in(self.session, event, organizations, message_id=f"msg_{event['event_id']}")
            return
        if self.bus is not None:
            self.bus.publish(event, organizations)
        try:
            enqueue_in(self.session, event, organizations, message_id=f"msg_{event['event_id']}")
            self.session.commit()
        except Exception:  # the request's own write has committed: a lost webhook must not turn it into an error
            self.session.rollback()
            logger.exception("queueing webhooks for %s failed", kind)

    def rfq_created(self, session: Session, rfq: Rfq) -> None:
        if rfq.lenders is None:
            lenders = set(session.scalars(select(Organization.id).where(Organization.is_operator.is_(False))))
        else:
            lenders = {uuid.UUID(x) for x in rfq.lenders}
        self.send("rfq.created", _rfq_data(rfq), {rfq.organization_id, *lenders})

    def quote_submitted(self, rfq: Rfq, quote: Quote) -> None:
        self.send("quote.submitted", _quote_data(rfq, quote), {rfq.organization_id, quote.organization_id})

    def rfq_accepted(self, session: Session, rfq: Rfq) -> None:
        for quote in session.scalars(select(Quote).where(Quote.rfq_id == rfq.id)):
            if quote.id == rfq.accepted_quote_id:
                data = {**_quote_data(rfq, quote), "trade_id": str(rfq.trade_id)}
                self.send("rfq.accepted", data, {rfq.organization_id, quote.organization_id})
            else:
                self.send("quote.expired", _quote_data(rfq, quote), {quote.organization_id})

    def trade_approved(self, trade: Trade, side: str) -> None:
        """An approver's yes, to the approving organization only: how many approvers a member's policy asks for is
        its own business (the counterparty learns of the signature when it comes)."""
        org = trade.seller_org_id if side == "seller" else trade.buyer_org_id
        data: dict[str, str | None] = {"trade_id": str(trade.id), "status": trade.status, "side": side}
        self.send("trade.approved", data, {org})

    def trade_rejected(self, trade: Trade, side: str, reason: str) -> None:
        """An approver's no, with its reason, to both parties: the trade is cancelled for both."""
        data: dict[str, str | None] = {
            "trade_id": str(trade.id),
            "status": trade.status,
            "side": side,
            "reason": reason,
        }
        self.send("trade.rejected", data, {trade.seller_org_id, trade.buyer_org_id})

    def approval_requested(self, trade: Trade, side: str, policy: object) -> None:
        """A signature of ``side`` waits for approvers: to that organization only (the counterparty learns of the
        signature when it comes, not of the member's internal controls)."""
        rule = policy.get("rule") if isinstance(policy, dict) else None
        org = trade.seller_org_id if side == "seller" else trade.buyer_org_id
        data = {"trade_id": str(trade.id), "status": trade.status, "side": side, "rule": rule}
        self.send("approval.requested", data, {org})


def _rfq_data(rfq: Rfq) -> dict[str, str | None]:
    return {"rfq_id": str(rfq.id), "status": rfq.status, "requester_id": str(rfq.organization_id)}


def _quote_data(rfq: Rfq, quote: Quote) -> dict[str, str | None]:
    return {**_rfq_data(rfq), "quote_id": str(quote.id), "quoter_id": str(quote.organization_id)}
