"""/v1/risk: cure tracking. A member's standing instruction (drafted, approved by a second person with a fresh
TOTP code); the watch list the risk service follows; its reminders before a cure deadline; a lapsed call marked for
default with the close-out prepared, or run at once under an ``auto`` instruction; excess collateral offered back
to the seller the same way; proposals confirmed or rejected by an approver. Every step goes to the outbox, and a
custodial one through the custody door. Checks and chain reads come before the write transaction."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from gateway.api.deps import ContextDep, Principal, ReadSessionDep, SessionDep, StepUp
from gateway.api.errors import problem_responses
from gateway.api.permits import PolicyManage, PolicyRead, ReposRead, RiskAct, TradesApprove
from gateway.chain.bindings.engine import RepoStatus
from gateway.context import GatewayContext
from gateway.custody import door
from gateway.custody.kyc import verified_before_writing
from gateway.db import audit_log
from gateway.db.models import Wallet
from gateway.exceptions import NotFound
from gateway.indexer.prices import indexed_price
from gateway.leases import service as leases
from gateway.leases.models import LeaseKind
from gateway.leases.routes import LeaseToken
from gateway.positions import accrual
from gateway.risk import cure_service as cure
from gateway.risk.cure_models import Mode, ProposalKind, ProposalStatus, RiskInstruction, RiskNotice, RiskProposal
from gateway.risk.cure_schemas import (
    CallWatch,
    DefaultCreate,
    InstructionCreate,
    InstructionDecision,
    InstructionPublic,
    InstructionsPublic,
    NoticePublic,
    ProposalPublic,
    ReminderCreate,
    SellerWatch,
    WatchPublic,
)
from gateway.settlement import service as settlement_service
from gateway.settlement.hub import Hub, HubDep
from gateway.settlement_records.models import RepoRecord
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.trading.exceptions import InvalidState, StepWouldRevert

router = APIRouter(prefix="/risk", tags=["risk"], responses=problem_responses(401, 403, 404, 409, 422, 429))


async def _policy_manage_step_up(principal: PolicyManage, _: StepUp) -> Principal:
    return principal


async def _approve_step_up(principal: TradesApprove, _: StepUp) -> Principal:
    return principal


PolicyManageStepUp = Annotated[Principal, Depends(_policy_manage_step_up)]
ApproverStepUp = Annotated[Principal, Depends(_approve_step_up)]


# ------------------------------------------------------------------------------------------ standing instruction
@router.get("/instructions", response_model=InstructionsPublic, status_code=200)
def list_instructions(principal: PolicyRead, session: SessionDep) -> InstructionsPublic:
    """The member's standing instructions to the risk service, every version, newest first (at most 200)."""
    rows = session.scalars(
        select(RiskInstruction)
        .where(RiskInstruction.organization_id == principal.organization_id)
        .order_by(RiskInstruction.version.desc())
        .limit(200)
    ).all()
    return InstructionsPublic(data=[InstructionPublic.model_validate(r) for r in rows])


@router.post("/instructions", response_model=InstructionPublic, status_code=201)
def draft_instruction(body: InstructionCreate, principal: PolicyManage, session: SessionDep) -> InstructionPublic:
    """Draft a new version; it applies when another person of the member approves it."""
    row = cure.draft(
        session, organization_id=principal.organization_id, user_id=principal.id, actor=principal.actor, data=body
    )
    answer = InstructionPublic.model_validate(row)
    session.commit()
    return answer


@router.post("/instructions/{instruction_id}/decision", response_model=InstructionPublic, status_code=200)
def decide_instruction(
    instruction_id: uuid.UUID, body: InstructionDecision, principal: PolicyManageStepUp, session: SessionDep
) -> InstructionPublic:
    """Approve (with a fresh TOTP code: the approver consents in advance to the steps an ``auto`` mode runs) or
    reject a draft; never the drafter's own."""
    row = cure.decide(
        session,
        organization_id=principal.organization_id,
        user_id=principal.id,
        actor=principal.actor,
        instruction_id=instruction_id,
        approve=body.approve,
    )
    answer = InstructionPublic.model_validate(row)
    session.commit()
    return answer


# ------------------------------------------------------------------------------------------------------- watch
@router.get("/watch", response_model=WatchPublic, status_code=200)
def watch(principal: ReposRead, session: SessionDep, hub: HubDep) -> WatchPublic:
    """What the risk service follows for the member: the margin calls outstanding on repos it holds (cure
    deadlines in chain time), and the open repos it sold, valued for an excess."""
    now = hub.now() if hub.market is not None else 0
    org = principal.organization_id
    calls = session.scalars(
        select(RepoRecord)
        .where(RepoRecord.holder_org_id == org, RepoRecord.status == RepoStatus.MARGIN_CALLED.value)
        .order_by(RepoRecord.repo_id)
        .limit(5_000)
    ).all()
    sold = session.scalars(
        select(RepoRecord)
        .where(RepoRecord.seller_org_id == org, RepoRecord.status == RepoStatus.OPEN.value)
        .order_by(RepoRecord.repo_id)
        .limit(5_000)
    ).all()
    sold_rows = []
    for r in sold:
        price = indexed_price(session, r.collateral_token, r.cash_token, now) if now else None
        rp = accrual.repurchase_price(
            purchase_price=int(r.purchase_price),
            rate=int(r.rate),
            basis=r.day_count_basis,
            period_start=r.period_start,
            maturity=r.maturity,
            crystallized_pd=int(r.crystallized_pd),
            at=now,
        )
        sold_rows.append(
            SellerWatch(
                repo_id=r.repo_id,
                repurchase_price=str(rp),
                collateral_amount=r.collateral_amount,
                cash_margin=r.cash_margin,
                haircut_bps=r.haircut_bps,
                min_transfer_amount=r.min_transfer_amount,
                price=None if price is None else str(price),
                updated_block=int(r.updated_block),
            )
        )
    return WatchPublic(
        now=now,
        remind_before_seconds=cure.remind_before(cure.active(session, org)),
        calls=[
            CallWatch(
                repo_id=r.repo_id,
                cure_deadline=r.cure_deadline,
                outstanding=r.margin_call_outstanding,
                updated_block=int(r.updated_block),
            )
            for r in calls
        ],
        sold=sold_rows,
    )


def _held_call(session: ReadSessionDep, principal: Principal, repo_id: int, cure_deadline: int) -> RepoRecord:
    """The member's repo under a margin call with this cure deadline (by the indexer's copy)."""
    record = session.get(RepoRecord, repo_id)
    if record is None or record.holder_org_id != principal.organization_id or record.seller_org_id is None:
        raise NotFound("repo not found")
    if record.status != RepoStatus.MARGIN_CALLED.value or record.cure_deadline != cure_deadline:
        raise InvalidState(f"repo {repo_id} has no margin call with cure deadline {cure_deadline}")
    return record


@router.post("/reminders", response_model=NoticePublic, status_code=201)
def remind(
    body: ReminderCreate,
    principal: RiskAct,
    read: ReadSessionDep,
    session: SessionDep,
    lease_token: LeaseToken = None,
) -> RiskNotice:
    """The risk service reminds both parties that a call's cure deadline is near (once per call). With an
    X-Lease-Token, only the risk lease's current holder may (409 for a deposed leader)."""
    leases.check(read, LeaseKind.RISK, principal.organization_id, lease_token, lock=False)
    record = _held_call(read, principal, body.repo_id, body.cure_deadline)
    seller_org = record.seller_org_id
    assert seller_org is not None
    key = f"cure_reminder:{body.repo_id}:{body.cure_deadline}"
    detail = {"cure_deadline": str(body.cure_deadline), "outstanding": record.margin_call_outstanding}
    read.rollback()
    leases.check(session, LeaseKind.RISK, principal.organization_id, lease_token)
    mine = cure.notice(
        session, organization_id=principal.organization_id, repo_id=body.repo_id, kind="cure_reminder", key=key,
        detail=detail,
    )  # fmt: skip
    cure.notice(session, organization_id=seller_org, repo_id=body.repo_id, kind="cure_reminder", key=key, detail=detail)
    audit_log.append(
        session,
        actor=principal.actor,
        action="risk.cure_reminder",
        object_type="repo",
        object_id=str(body.repo_id),
        change=detail,
    )
    session.commit()
    return mine


def submit(session: SessionDep, hub: Hub, proposal: RiskProposal, steps: list[StepSpec], actor: str) -> RiskProposal:
    settlement = enqueue(
        session,
        kind=f"risk_{proposal.kind}",
        requested_by=actor,
        steps=steps,
        repo_id=proposal.repo_id,
        organization_id=proposal.organization_id,
    )
    proposal.status, proposal.settlement_id = ProposalStatus.SUBMITTED.value, settlement.id
    audit_log.append(
        session,
        actor=actor,
        action=f"risk.{proposal.kind}.submitted",
        object_type="repo",
        object_id=str(proposal.repo_id),
        change={"proposal": str(proposal.id), "settlement": str(settlement.id), "mode": proposal.mode},
    )
    return proposal


def submit_standing(
    ctx: GatewayContext,
    session: SessionDep,
    hub: Hub,
    proposal: RiskProposal,
    *,
    wallet: Wallet,
    instruction: RiskInstruction,
    steps: list[StepSpec],
    chain_checked: str,
    actor: str,
) -> RiskProposal:
    """Run a proposal at once under the member's ``auto`` standing instruction: the custody door signs on the
    consent of the person who approved that instruction (recorded per step), then the steps are queued."""
    assert instruction.decided_by is not None
    consented = door.authorize_standing(
        ctx,
        session,
        wallet=wallet,
        consenting_user=instruction.decided_by,
        instruction_subject=f"risk-instruction/{instruction.id}",
        specs=steps,
        chain_checked=chain_checked,
    )
    return submit(session, hub, proposal, consented, actor)


@router.post("/defaults", response_model=ProposalPublic, status_code=202)
def mark_default(
    body: DefaultCreate,
    principal: RiskAct,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    lease_token: LeaseToken = None,
) -> RiskProposal:
    """A call lapsed uncured: the repo is marked for default and its close-out prepared (valuation at the oracle
    price, shortfall or excess) for an approver to confirm, or declared and closed out at once when the holder's
    standing instruction says ``auto`` (consent: that instruction's approver's). Once per call. Fenced by the
    risk lease's X-Lease-Token like the margin call."""
    leases.check(read, LeaseKind.RISK, principal.organization_id, lease_token, lock=False)  # before the chain reads
    record = _held_call(read, principal, body.repo_id, body.cure_deadline)
    market = hub.require_market()
    now = hub.now()
    if now <= body.cure_deadline:
        raise InvalidState(f"the cure deadline {body.cure_deadline} has not passed (chain time {now})")
    repo, _, holder = settlement_service.visible_repo(read, market, body.repo_id, principal.organization_id, False)
    settlement_service.require_status(repo, RepoStatus.MARGIN_CALLED)
    price = indexed_price(read, repo.collateral_token, repo.cash_token, now)
    if price is None:
        raise InvalidState("no fresh oracle price to value the close-out")
    owed = int(market.engine.functions.repurchasePrice(body.repo_id, now).call())
    value = cure.close_out_value(
        owed=owed, cash_margin=repo.state.cash_margin, collateral_amount=repo.state.collateral_amount, price=price
    )
    instruction = cure.active(read, principal.organization_id)
    mode = cure.mode_of(instruction, ProposalKind.CLOSE_OUT)
    steps: list[StepSpec] = []
    chain_checked = ""
    if mode is Mode.AUTO:
        holder = settlement_service.require(holder, "position holder")
        reason = market.revert_reason(
            sender=market.relayer.address,
            to=market.engine_address,
            data=market.encode(market.engine, "declareDefault", body.repo_id),
        )
        if reason is not None:
            raise StepWouldRevert(f"default would revert: {reason}")
        chain_checked = verified_before_writing(ctx, read, holder)
        steps = cure.close_out_steps(market, repo_id=body.repo_id, holder=holder.address, holder_wallet_id=holder.id)
    seller_org = record.seller_org_id
    assert seller_org is not None
    read.rollback()
    leases.check(session, LeaseKind.RISK, principal.organization_id, lease_token)  # locked until the write commits
    found = cure.existing(session, repo_id=body.repo_id, kind=ProposalKind.CLOSE_OUT, episode=body.cure_deadline)
    if found is not None:
        return found
    proposal = cure.propose(
        session,
        organization_id=principal.organization_id,
        repo_id=body.repo_id,
        kind=ProposalKind.CLOSE_OUT,
        episode=body.cure_deadline,
        mode=mode,
        valuation=value.as_dict(),
        instruction=instruction,
        actor=principal.actor,
    )
    key = f"call_lapsed:{body.repo_id}:{body.cure_deadline}"
    lapsed = {"cure_deadline": str(body.cure_deadline), "proposal": str(proposal.id), "mode": mode.value}
    for org in (principal.organization_id, seller_org):
        cure.notice(session, organization_id=org, repo_id=body.repo_id, kind="call_lapsed", key=key, detail=lapsed)
    if mode is Mode.AUTO:
        assert instruction is not None and instruction.decided_by is not None and holder is not None
        wallet = session.get(type(holder), holder.id)
        if wallet is None:
            raise NotFound("wallet not found")
        submit_standing(
            ctx, session, hub, proposal, wallet=wallet, instruction=instruction, steps=steps,
            chain_checked=chain_checked, actor=principal.actor,
        )  # fmt: skip
    session.commit()
    hub.notify()
    return proposal
