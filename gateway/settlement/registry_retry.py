"""Sending a failed registry write again (a KYC registration, renewal, new wallet, freeze, unfreeze or revocation
the chain or the node refused): compliance decides, after fixing the cause (a role not granted, a paused
registry), that the chain should still follow the database's decision.

The retry is a new outbox settlement with the failed one's steps that did not become final, sent from the KYC
agent's current account, and linked to the one it retries (``retry_of``, at most one retry each). It is refused
when the decision no longer stands: the member's status moved on, or a later freeze, unfreeze or revocation
superseded it. No chain call: the steps are the decision's own calldata.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.db.models import KycStatus, Organization
from gateway.exceptions import Conflict, NotFound
from gateway.settlement.market import Market
from gateway.settlement.registry import WriteKind
from gateway.settlement_records.models import ChainStep, Settlement, SettlementStatus, StepStatus
from gateway.settlement_records.steps import StepSpec, enqueue

ACTION_KINDS = frozenset({WriteKind.KYC_FREEZE, WriteKind.KYC_UNFREEZE, WriteKind.KYC_REVOKE})
# The member's status in which each write still carries out the database's decision.
STANDS_IN: dict[WriteKind, frozenset[str]] = {
    WriteKind.KYC_REGISTER: frozenset({KycStatus.APPROVED.value, KycStatus.FROZEN.value}),
    WriteKind.KYC_RENEW: frozenset({KycStatus.APPROVED.value, KycStatus.FROZEN.value}),
    WriteKind.WALLET_WHITELIST: frozenset({KycStatus.APPROVED.value, KycStatus.FROZEN.value}),
    WriteKind.KYC_FREEZE: frozenset({KycStatus.FROZEN.value}),
    WriteKind.KYC_UNFREEZE: frozenset({KycStatus.APPROVED.value}),
    WriteKind.KYC_REVOKE: frozenset({KycStatus.REVOKED.value}),
}


def _kind(settlement: Settlement | None) -> WriteKind:
    """The registry write ``settlement`` is (404 for anything else: trades, anchors, unknown ids)."""
    if settlement is None or settlement.kind not in STANDS_IN or settlement.organization_id is None:
        raise NotFound("registry settlement not found")
    return WriteKind(settlement.kind)


def _require_still_standing(session: Session, failed: Settlement, kind: WriteKind) -> Organization:
    organization = session.get(Organization, failed.organization_id)
    assert organization is not None
    if organization.kyc_status not in STANDS_IN[kind]:
        raise Conflict(f"the member is {organization.kyc_status} now: its {kind.value} no longer stands")
    if kind is WriteKind.KYC_REGISTER and organization.onchain_identity_id is not None:
        raise Conflict("the member's identity is on chain already")
    if kind in ACTION_KINDS:
        later = session.scalar(
            select(Settlement.id).where(
                Settlement.organization_id == organization.id,
                Settlement.kind.in_([k.value for k in ACTION_KINDS]),
                Settlement.created_at > failed.created_at,
            )
        )
        if later is not None:
            raise Conflict(f"a later decision on the member (settlement {later}) superseded this {kind.value}")
    return organization


def retry(session: Session, market: Market, *, settlement_id: uuid.UUID, actor: str) -> Settlement:
    """Queue the failed registry write ``settlement_id`` again; the new settlement (the caller commits)."""
    failed = session.get(Settlement, settlement_id)
    kind = _kind(failed)
    assert failed is not None and market.kyc_agent is not None
    if failed.status != SettlementStatus.FAILED.value:
        raise Conflict(f"the settlement is {failed.status}: only a failed one is sent again")
    again = session.scalar(select(Settlement.id).where(Settlement.retry_of == failed.id))
    if again is not None:
        raise Conflict(f"already sent again as settlement {again}")
    organization = _require_still_standing(session, failed, kind)
    done = StepStatus.FINAL.value
    rows = session.scalars(select(ChainStep).where(ChainStep.settlement_id == failed.id).order_by(ChainStep.seq))
    sender = market.kyc_agent.address
    steps = [StepSpec(label=s.label, to=s.to, data=s.data, sender=sender) for s in rows if s.status != done]
    if not steps:
        raise Conflict("every step of the settlement is final: nothing to send again")
    retried = enqueue(session, kind=kind.value, requested_by=actor, steps=steps, organization_id=organization.id)
    retried.retry_of = failed.id
    audit_log.append(
        session,
        actor=actor,
        action=f"chain.{kind.value}.retried",
        object_type="organization",
        object_id=str(organization.id),
        change={"settlement": str(failed.id), "retry": str(retried.id), "error": (failed.error or "")[:500]},
    )
    return retried
