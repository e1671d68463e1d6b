"""/v1/approvals: what awaits the organization's approvers, the rule that asks for each, and whether the caller may
give the yes (never the person who asked). A yes or a no is given where its subject lives: ``/v1/trades/{id}/
approvals`` and ``/rejections``, ``/v1/instructions/{id}/approvals`` and ``/rejections``."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import ReadSessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import TradesApprove
from gateway.policy import queue
from gateway.policy.schemas import AwaitingList, AwaitingPublic

router = APIRouter(tags=["policy"], responses=problem_responses(401, 403, 429))


def _public(item: queue.Awaiting) -> AwaitingPublic:
    return AwaitingPublic(
        subject=item.subject,
        id=item.id,
        side=item.side,
        instruction_kind=item.instruction_kind,
        repo_id=item.repo_id,
        counterparty=item.counterparty,
        notional=format(item.notional, "f"),
        cash_token=item.cash_token,
        collateral_token=item.collateral,
        rule=item.rule,
        approvals_needed=item.needed,
        approvals_given=item.given,
        approved_by_me=item.approved_by_me,
        may_approve=item.may_approve,
        quorum_met=item.quorum_met,
        created_at=item.created_at,
    )


@router.get("/approvals", response_model=AwaitingList, status_code=200)
def approval_queue(principal: TradesApprove, read: ReadSessionDep) -> AwaitingList:
    """The organization's unsigned trade sides and instructions its policy sends to approval, not past their
    deadline, the newest first (at most 200 of each); ``quorum_met`` says which have the rule's count."""
    items = queue.awaiting(read, principal.organization_id, principal.id)
    return AwaitingList(data=[_public(i) for i in items])
