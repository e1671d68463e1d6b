"""What awaits an organization's approvers: each trade side and lifecycle instruction of the organization that its
policy sends to approval, not yet signed by the organization and not past its deadline, with that rule.

Computed from the same decision the signature will meet (``service.decide``, ``instructions.facts``). An item stays
listed until the organization's side has signed, even once the approvals given reach the rule's count
(``quorum_met``): signing does not count the signer's own approval, and the signer is not known before they sign,
so a quorum that includes the eventual signer still holds the signature back. No chain call."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import Wallet
from gateway.policy import instructions as instruction_policy
from gateway.policy import service
from gateway.policy.engine import Action, Decision, TradeFacts, evaluate
from gateway.settlement_records.models import Instruction, InstructionApproval, RepoRecord
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import Subject, Trade, TradeApproval, TradeStatus

LIMIT = 200  # the newest first; an approver's desk, not an archive


@dataclass(frozen=True)
class Awaiting:
    """One subject waiting for this organization's approvers. ``notional``: in the cash token's units;
    ``may_approve``: false for the person who asked for it (four eyes) and for one who already said yes;
    ``quorum_met``: the approvals given reach the rule's count (enough, unless the signer is one of them)."""

    subject: Subject
    id: uuid.UUID
    side: str | None  # the organization's side of a trade (None: an instruction)
    instruction_kind: str | None
    repo_id: int | None
    counterparty: uuid.UUID | None  # None: a repo whose other side is not a member of the gateway
    notional: Decimal
    cash_token: str
    collateral: str
    rule: str
    needed: int
    given: int
    approved_by_me: bool
    may_approve: bool
    quorum_met: bool
    created_at: datetime


@dataclass(frozen=True)
class _Asked:
    """What is asked of the approvers, before the policy's decision and the approvals given are known."""

    subject: Subject
    id: uuid.UUID
    side: str | None
    instruction_kind: str | None
    repo_id: int | None
    cash_token: str
    created_at: datetime

    def awaiting(
        self, facts: TradeFacts, decision: Decision, yes: set[uuid.UUID], *, user_id: uuid.UUID,
        asker: uuid.UUID | None,
    ) -> Awaiting:  # fmt: skip
        """The item as ``user_id`` sees it; ``asker``: the person who asked (never their own approver)."""
        return Awaiting(
            subject=self.subject,
            id=self.id,
            side=self.side,
            instruction_kind=self.instruction_kind,
            repo_id=self.repo_id,
            counterparty=_organization(facts.counterparty),
            notional=facts.notional,
            cash_token=self.cash_token,
            collateral=facts.collateral,
            rule=decision.rule or "",
            needed=decision.approvals,
            given=len(yes),
            approved_by_me=user_id in yes,
            may_approve=user_id not in yes and user_id != asker,
            quorum_met=len(yes) >= decision.approvals,
            created_at=self.created_at,
        )


def _asks_approvers(decision: Decision) -> bool:
    return decision.action is Action.REQUIRE_APPROVALS


def _organization(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _now() -> int:
    return int(time.time())


def _trades(session: Session, organization_id: uuid.UUID, user_id: uuid.UUID) -> list[Awaiting]:
    trades = session.scalars(
        select(Trade)
        .where(
            Trade.status == TradeStatus.PENDING_SIGNATURES.value,
            (Trade.seller_org_id == organization_id) | (Trade.buyer_org_id == organization_id),
        )
        .order_by(Trade.created_at.desc())
        .limit(LIMIT)
    )
    out = []
    for trade in trades:
        side = "seller" if trade.seller_org_id == organization_id else "buyer"
        if (trade.seller_signature if side == "seller" else trade.buyer_signature) is not None:
            continue
        if int(trade.terms["deadline"]) <= _now():  # can no longer be signed and opened
            continue
        facts, rules = service.facts_for(session, trade, side)
        decision = evaluate(rules, facts)
        if not _asks_approvers(decision):
            continue
        yes = set(
            session.scalars(
                select(TradeApproval.user_id).where(
                    TradeApproval.trade_id == trade.id, TradeApproval.organization_id == organization_id
                )
            )
        )
        initiator = trade.seller_initiator if side == "seller" else trade.buyer_initiator
        asked = _Asked(
            Subject.TRADE, trade.id, side, None, trade.repo_id, str(trade.terms["cashToken"]), trade.created_at
        )
        out.append(asked.awaiting(facts, decision, yes, user_id=user_id, asker=initiator))
    return out


def _cash_token(session: Session, repo_id: int) -> str:
    record = session.get(RepoRecord, repo_id)
    if record is not None:
        return record.cash_token
    trade = session.scalars(select(Trade).where(Trade.repo_id == repo_id)).first()
    if trade is None:  # instruction_policy.facts found the repo by one of the two: not reached
        raise InvalidState(f"repo {repo_id} is not in the gateway's records yet")
    return str(trade.terms["cashToken"])


def _instructions(session: Session, organization_id: uuid.UUID, user_id: uuid.UUID) -> list[Awaiting]:
    own_repos = select(RepoRecord.repo_id).where(
        (RepoRecord.seller_org_id == organization_id) | (RepoRecord.holder_org_id == organization_id)
    )
    traded = select(Trade.repo_id).where(
        Trade.repo_id.is_not(None), (Trade.seller_org_id == organization_id) | (Trade.buyer_org_id == organization_id)
    )
    newest = (
        select(Instruction)
        .where(Instruction.status == "pending", Instruction.repo_id.in_(own_repos.union(traded)))
        .order_by(Instruction.created_at.desc())
    )
    pending = list(session.scalars(newest.limit(LIMIT)))  # the organization's repos only, before the limit
    mine = {w.address.lower() for w in session.scalars(select(Wallet).where(Wallet.organization_id == organization_id))}
    out = []
    for instruction in pending:
        if not any(a in mine and a not in instruction.signatures for a in instruction.required):
            continue
        if int(instruction.message.get("deadline", 0) or 0) <= _now():  # expired: nothing can submit it
            continue
        try:
            facts, rules = instruction_policy.facts(session, instruction, organization_id)
            cash_token = _cash_token(session, instruction.repo_id)
        except InvalidState:  # the repo is not indexed yet: its facts are unknown, and so is the rule
            continue
        decision = evaluate(rules, facts)
        if not _asks_approvers(decision):
            continue
        yes = set(
            session.scalars(
                select(InstructionApproval.user_id).where(
                    InstructionApproval.instruction_id == instruction.id,
                    InstructionApproval.organization_id == organization_id,
                )
            )
        )
        proposer = instruction_policy.proposer(instruction)
        asked = _Asked(
            Subject.INSTRUCTION, instruction.id, None, instruction.kind, instruction.repo_id, cash_token,
            instruction.created_at,
        )  # fmt: skip
        out.append(asked.awaiting(facts, decision, yes, user_id=user_id, asker=proposer))
    return out


def awaiting(session: Session, organization_id: uuid.UUID, user_id: uuid.UUID) -> list[Awaiting]:
    """The organization's queue as ``user_id`` sees it, the newest first."""
    items = _trades(session, organization_id, user_id) + _instructions(session, organization_id, user_id)
    return sorted(items, key=lambda a: a.created_at, reverse=True)
