"""Policy rules by draft and approval (four eyes), the decision for one side of a trade, and trade approvals."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.exceptions import FourEyesViolation, InvalidRequest, NotFound
from gateway.policy.engine import Action, Decision, Rule, TradeFacts, evaluate, period_days
from gateway.trading.exceptions import ApprovalRequired, InvalidState, PolicyBlocked
from gateway.trading.models import Instrument, PolicyVersion, Trade, TradeApproval, TradeStatus

RULES = TypeAdapter(list[Rule])


def _now() -> datetime:
    return datetime.now(UTC)


def parse_rules(raw: object) -> list[Rule]:
    try:
        return RULES.validate_python(raw)
    except ValidationError as exc:
        raise InvalidRequest(f"invalid rules: {exc.errors()[0]['msg']}") from None


def active(session: Session, organization_id: uuid.UUID) -> PolicyVersion | None:
    return session.execute(
        select(PolicyVersion).where(PolicyVersion.organization_id == organization_id, PolicyVersion.is_active)
    ).scalar_one_or_none()


def active_rules(session: Session, organization_id: uuid.UUID) -> list[Rule]:
    version = active(session, organization_id)
    return [] if version is None else parse_rules(version.rules)


def create_draft(
    session: Session, *, actor: str, user_id: uuid.UUID, organization_id: uuid.UUID, rules: list[Rule]
) -> PolicyVersion:
    last = session.execute(
        select(func.max(PolicyVersion.version)).where(PolicyVersion.organization_id == organization_id)
    ).scalar_one()
    draft = PolicyVersion(
        id=uuid.uuid4(),
        organization_id=organization_id,
        version=(last or 0) + 1,
        rules=[r.model_dump(mode="json") for r in rules],
        status="draft",
        is_active=False,
        created_by=user_id,
    )
    session.add(draft)
    audit_log.append(
        session,
        actor=actor,
        action="policy.drafted",
        object_type="policy",
        object_id=str(draft.id),
        change={"version": draft.version, "rules": draft.rules},
    )
    session.commit()
    return draft


def load_draft(session: Session, *, draft_id: uuid.UUID, organization_id: uuid.UUID) -> PolicyVersion:
    draft = session.get(PolicyVersion, draft_id)
    if draft is None or draft.organization_id != organization_id:
        raise NotFound("policy version not found")
    return draft


def decide_draft(
    session: Session, *, actor: str, user_id: uuid.UUID, draft: PolicyVersion, approve: bool
) -> PolicyVersion:
    if draft.status != "draft":
        raise InvalidState(f"the version is {draft.status}")
    if draft.created_by == user_id:
        raise FourEyesViolation("a rule change is approved by another approver")
    draft.decided_by, draft.decided_at = user_id, _now()
    if approve:
        current = active(session, draft.organization_id)
        if current is not None:
            current.is_active, current.status = False, "superseded"
            session.flush()
        draft.status, draft.is_active = "active", True
    else:
        draft.status = "rejected"
    audit_log.append(
        session,
        actor=actor,
        action="policy.approved" if approve else "policy.rejected",
        object_type="policy",
        object_id=str(draft.id),
        change={"version": draft.version},
    )
    session.commit()
    return draft


# ------------------------------------------------------------------------------------------------- trades
def _notional(session: Session, trade: Trade) -> Decimal:
    cash = session.get(Instrument, trade.terms["cashToken"].lower())
    decimals = cash.decimals if cash is not None else 0
    return Decimal(int(trade.terms["purchasePrice"])).scaleb(-decimals)


def facts_for(session: Session, trade: Trade, side: str) -> tuple[TradeFacts, list[Rule]]:
    org_id = trade.seller_org_id if side == "seller" else trade.buyer_org_id
    counterparty = trade.buyer_org_id if side == "seller" else trade.seller_org_id
    rules = active_rules(session, org_id)
    notional = _notional(session, trade)
    periods: dict[int, Decimal] = {}
    for days in period_days(rules):
        since = _now() - timedelta(days=days)
        others = session.scalars(
            select(Trade).where(
                (Trade.seller_org_id == org_id) | (Trade.buyer_org_id == org_id),
                Trade.created_at >= since,
                Trade.id != trade.id,
                Trade.status.not_in(
                    [TradeStatus.FAILED.value, TradeStatus.CANCELLING.value, TradeStatus.CANCELLED.value]
                ),
            )
        )
        periods[days] = notional + sum(
            (_notional(session, t) for t in others if t.terms["cashToken"] == trade.terms["cashToken"]), Decimal(0)
        )
    maturity = int(trade.terms["maturity"])
    tenor = None if maturity == 0 else maturity - int(trade.terms["startTime"])
    facts = TradeFacts(
        notional=notional,
        counterparty=str(counterparty),
        collateral=str(trade.terms["collateralToken"]),
        tenor_seconds=tenor,
        period_notional=periods,
    )
    return facts, rules


def approvals(session: Session, trade: Trade, organization_id: uuid.UUID, *, excluding: uuid.UUID | None = None) -> int:
    """The organization's approvals of the trade; ``excluding``: a person whose own approval does not count
    (the one asking for the signature: four eyes are two people)."""
    query = select(TradeApproval.id).where(
        TradeApproval.trade_id == trade.id, TradeApproval.organization_id == organization_id
    )
    if excluding is not None:
        query = query.where(TradeApproval.user_id != excluding)
    return len(session.scalars(query).all())


def decide(session: Session, trade: Trade, side: str) -> Decision:
    facts, rules = facts_for(session, trade, side)
    return evaluate(rules, facts)


def enforce(session: Session, trade: Trade, side: str, *, signer: uuid.UUID | None = None) -> Decision:
    """Raise unless this side of the trade may be signed now. ``signer``: the person whose consent signs it;
    an approval of theirs does not count towards the quorum (the responding side of direct terms has no
    initiator: without this, one approver would approve and sign alone)."""
    decision = decide(session, trade, side)
    org_id = trade.seller_org_id if side == "seller" else trade.buyer_org_id
    return require(decision, "trade", lambda: approvals(session, trade, org_id, excluding=signer))


def require(decision: Decision, subject: str, count_approvals: Callable[[], int]) -> Decision:
    """Raise what the decision demands of a signature on ``subject`` (a trade, an instruction): a block, or a
    quorum of approvals not yet given (counted only when a quorum is asked for)."""
    if decision.action is Action.BLOCK:
        raise PolicyBlocked(f"rule {decision.rule!r} blocks this {subject}", policy=decision.as_dict())
    if decision.action is Action.REQUIRE_APPROVALS:
        have = count_approvals()
        if have < decision.approvals:
            raise ApprovalRequired(
                f"rule {decision.rule!r} needs {decision.approvals} approvals; {have} given",
                policy=decision.as_dict(),
                approvals=have,
            )
    return decision


def approve_trade(
    session: Session, *, actor: str, user_id: uuid.UUID, organization_id: uuid.UUID, trade: Trade, side: str
) -> int:
    initiator = trade.seller_initiator if side == "seller" else trade.buyer_initiator
    if initiator == user_id:
        raise FourEyesViolation("the initiator of a trade cannot approve it")
    if trade.status != TradeStatus.PENDING_SIGNATURES.value:
        raise InvalidState(f"the trade is {trade.status}")
    exists = session.execute(
        select(TradeApproval).where(TradeApproval.trade_id == trade.id, TradeApproval.user_id == user_id)
    ).scalar_one_or_none()
    if exists is None:
        session.add(TradeApproval(trade_id=trade.id, organization_id=organization_id, user_id=user_id))
        audit_log.append(
            session,
            actor=actor,
            action="trade.approved",
            object_type="trade",
            object_id=str(trade.id),
            change={"side": side},
        )
        session.commit()
    return approvals(session, trade, organization_id)
