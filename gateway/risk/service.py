"""Agreements: propose, approve, read; the effective terms of a pair; the standing-instruction check that gates the
risk service's margin calls. Keyword-only functions over one session; the route commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.db.models import Organization
from gateway.exceptions import Conflict, InvalidRequest, NotFound, PermissionDenied
from gateway.matching import credit_caps
from gateway.risk.exposure import Method, Terms
from gateway.risk.models import MarginAgreement
from gateway.risk.schemas import AgreementCreate, AgreementPublic, EligibleIn
from gateway.trading import money
from gateway.trading.models import Instrument


def _decimals(session: Session, token: str) -> int:
    row = session.get(Instrument, token.lower())
    if row is None:
        raise InvalidRequest("base_currency is not a listed instrument")
    return row.decimals


def propose(session: Session, *, organization_id: uuid.UUID, data: AgreementCreate, actor: str) -> MarginAgreement:
    """A new version of the pair's terms, ``proposed`` until the counterparty approves it."""
    if data.counterparty_id == organization_id:
        raise InvalidRequest("an agreement needs two members")
    other = session.get(Organization, data.counterparty_id)
    if other is None or other.is_operator:
        raise NotFound("counterparty not found")
    a, b = credit_caps.ordered_pair(organization_id, data.counterparty_id)
    decimals = _decimals(session, data.base_currency)
    last = session.scalars(
        select(MarginAgreement.version)
        .where(MarginAgreement.member_a == a, MarginAgreement.member_b == b)
        .order_by(MarginAgreement.version.desc())
        .limit(1)
    ).first()
    row = MarginAgreement(
        id=uuid.uuid4(),
        member_a=a,
        member_b=b,
        version=(last or 0) + 1,
        status="proposed",
        base_currency=data.base_currency.lower(),
        threshold_units=str(money.to_units(data.threshold, decimals, field="threshold")),
        minimum_transfer_units=str(money.to_units(data.minimum_transfer, decimals, field="minimum_transfer")),
        rounding_units=str(money.to_units(data.rounding, decimals, field="rounding")),
        method=data.method.value,
        cure_period_seconds=data.cure_period_seconds,
        auto_call_a=data.auto_call if organization_id == a else False,
        auto_call_b=data.auto_call if organization_id == b else False,
        eligible=[e.model_dump() for e in data.eligible],
        valuation_times=sorted(set(data.valuation_times)),
        gc_credit_cap_units=str(int(data.gc_credit_cap_units)) if data.gc_credit_cap_units is not None else None,
        proposed_by=organization_id,
        proposed_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="risk.agreement.propose",
        object_type="risk_agreement",
        object_id=str(row.id),
        change={
            "version": row.version,
            "counterparty": str(data.counterparty_id),
            "method": row.method,
            "eligible": row.eligible,
            "valuation_times": row.valuation_times,
            "gc_credit_cap_units": row.gc_credit_cap_units,
        },
    )
    return row


def visible(session: Session, agreement_id: uuid.UUID, organization_id: uuid.UUID) -> MarginAgreement:
    row = session.get(MarginAgreement, agreement_id)
    if row is None or organization_id not in (row.member_a, row.member_b):
        raise NotFound("agreement not found")
    return row


def approve(
    session: Session, *, organization_id: uuid.UUID, agreement_id: uuid.UUID, auto_call: bool, actor: str
) -> MarginAgreement:
    """The counterparty (never the proposer) makes a proposed version effective; every other version of the pair
    still effective or proposed is superseded (a stale proposal cannot be approved later to undo these terms)."""
    row = visible(session, agreement_id, organization_id)
    if row.proposed_by == organization_id:
        raise PermissionDenied("the proposing member cannot approve its own terms")
    if row.status != "proposed":
        raise Conflict(f"agreement is {row.status}")
    for old in session.scalars(
        select(MarginAgreement).where(
            MarginAgreement.member_a == row.member_a,
            MarginAgreement.member_b == row.member_b,
            MarginAgreement.status.in_(("effective", "proposed")),
            MarginAgreement.id != row.id,
        )
    ):
        old.status = "superseded"
    row.status = "effective"
    row.approved_by = organization_id
    row.approved_at = datetime.now(UTC)
    if organization_id == row.member_a:
        row.auto_call_a = auto_call
    else:
        row.auto_call_b = auto_call
    audit_log.append(
        session,
        actor=actor,
        action="risk.agreement.approve",
        object_type="risk_agreement",
        object_id=str(row.id),
        change={"version": row.version, "auto_call": auto_call},
    )
    cap = int(row.gc_credit_cap_units) if row.gc_credit_cap_units is not None else None
    credit_caps.agreement_took_effect(session, row.member_a, row.member_b, cap)  # the GC book's limits follow it
    return row


def listed(session: Session, *, organization_id: uuid.UUID, status: str | None) -> list[MarginAgreement]:
    query = select(MarginAgreement).where(
        or_(MarginAgreement.member_a == organization_id, MarginAgreement.member_b == organization_id)
    )
    if status:
        query = query.where(MarginAgreement.status == status)
    return list(session.scalars(query.order_by(MarginAgreement.proposed_at.desc()).limit(500)))


def effective(session: Session, lender: uuid.UUID, borrower: uuid.UUID) -> MarginAgreement | None:
    a, b = credit_caps.ordered_pair(lender, borrower)
    return session.scalars(
        select(MarginAgreement).where(
            MarginAgreement.member_a == a, MarginAgreement.member_b == b, MarginAgreement.status == "effective"
        )
    ).first()


def standing_instruction(row: MarginAgreement, lender: uuid.UUID) -> bool:
    """Whether the lender told the risk service to call margin for it under this agreement."""
    return row.auto_call_a if lender == row.member_a else row.auto_call_b


def terms(row: MarginAgreement) -> Terms:
    return Terms(
        threshold=int(row.threshold_units),
        minimum_transfer=int(row.minimum_transfer_units),
        rounding=int(row.rounding_units),
        method=Method(row.method),
    )


def public(session: Session, row: MarginAgreement) -> AgreementPublic:
    decimals = _decimals(session, row.base_currency)
    return AgreementPublic(
        id=row.id,
        member_a=row.member_a,
        member_b=row.member_b,
        version=row.version,
        status=row.status,
        base_currency=row.base_currency,
        threshold=money.from_units(int(row.threshold_units), decimals),
        minimum_transfer=money.from_units(int(row.minimum_transfer_units), decimals),
        rounding=money.from_units(int(row.rounding_units), decimals),
        method=Method(row.method),
        cure_period_seconds=row.cure_period_seconds,
        auto_call_a=row.auto_call_a,
        auto_call_b=row.auto_call_b,
        eligible=[EligibleIn.model_validate(e) for e in row.eligible or []],
        valuation_times=list(row.valuation_times or []),
        gc_credit_cap_units=row.gc_credit_cap_units,
        proposed_by=row.proposed_by,
        proposed_at=row.proposed_at,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
    )
