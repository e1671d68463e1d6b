"""/v1/risk: excess collateral offered back to the seller, margin calls proposed for a holder whose standing
instruction is approval, the proposals an approver confirms or rejects, and the notices the risk service left. See
gateway.risk.cure_routes for the rest of cure tracking."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.api.deps import ContextDep, Principal, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead, RiskAct, TradesApprove
from gateway.chain.bindings.engine import RepoStatus
from gateway.custody import door
from gateway.custody.kyc import verified_before_writing
from gateway.db import audit_log
from gateway.db.models import Wallet
from gateway.exceptions import NotFound, PermissionDenied
from gateway.indexer.prices import indexed_price
from gateway.leases import service as leases
from gateway.leases.models import LeaseKind
from gateway.leases.routes import LeaseToken
from gateway.risk import cure_service as cure
from gateway.risk import service as agreements
from gateway.risk.cure_models import Mode, ProposalKind, ProposalStatus, RiskNotice, RiskProposal
from gateway.risk.cure_routes import ApproverStepUp, submit, submit_standing
from gateway.risk.cure_schemas import ExcessCreate, NoticePublic, NoticesPublic, ProposalPublic, ProposalsPublic
from gateway.risk.schemas import MarginCallCreate
from gateway.settlement import service as settlement_service
from gateway.settlement.hub import Hub, HubDep
from gateway.settlement.service import OnChainRepo
from gateway.settlement_records.models import RepoRecord
from gateway.settlement_records.steps import StepSpec
from gateway.trading.exceptions import InvalidState, StepWouldRevert

router = APIRouter(prefix="/risk", tags=["risk"], responses=problem_responses(401, 403, 404, 409, 422, 429))


@router.post("/excess-returns", response_model=ProposalPublic, status_code=202)
def offer_excess(
    body: ExcessCreate,
    principal: RiskAct,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    lease_token: LeaseToken = None,
) -> RiskProposal:
    """The risk service offers the seller its excess collateral back (the member is the seller): a proposal for an
    approver, or the withdrawal at once under the seller's ``auto`` standing instruction. Once per repo state.
    Fenced by the risk lease's X-Lease-Token like the margin call."""
    leases.check(read, LeaseKind.RISK, principal.organization_id, lease_token, lock=False)  # before the chain reads
    record = read.get(RepoRecord, body.repo_id)
    if record is None or record.seller_org_id != principal.organization_id:
        raise NotFound("repo not found")
    if record.updated_block != body.updated_block:
        raise InvalidState(f"repo {body.repo_id} changed since block {body.updated_block}")
    market = hub.require_market()
    now = hub.now()
    repo, seller, _ = settlement_service.visible_repo(read, market, body.repo_id, principal.organization_id, False)
    settlement_service.require_status(repo, RepoStatus.OPEN)
    seller = settlement_service.require(seller, "seller")
    price = indexed_price(read, repo.collateral_token, repo.cash_token, now)
    if price is None:
        raise InvalidState("no fresh oracle price to value the collateral")
    exposure = int(market.engine.functions.exposure(body.repo_id).call())
    owed = int(market.engine.functions.repurchasePrice(body.repo_id, now).call())
    amount = cure.excess_collateral(exposure=exposure, owed=owed, price=price, haircut_bps=repo.state.haircut_bps)
    if -exposure <= repo.state.min_transfer_amount or amount <= 0:
        raise InvalidState(f"repo {body.repo_id} has no excess above its minimum transfer amount")
    instruction = cure.active(read, principal.organization_id)
    mode = cure.mode_of(instruction, ProposalKind.EXCESS_RETURN)
    steps = cure.excess_steps(
        market, repo_id=body.repo_id, seller=seller.address, seller_wallet_id=seller.id, collateral_amount=amount
    )
    chain_checked = ""
    if mode is Mode.AUTO:
        reason = market.revert_reason(sender=seller.address, to=market.engine_address, data=steps[0].data)
        if reason is not None:
            raise StepWouldRevert(f"withdraw_excess would revert: {reason}")
        chain_checked = verified_before_writing(ctx, read, seller)
    seller_id = seller.id
    read.rollback()
    leases.check(session, LeaseKind.RISK, principal.organization_id, lease_token)  # locked until the write commits
    found = cure.existing(session, repo_id=body.repo_id, kind=ProposalKind.EXCESS_RETURN, episode=body.updated_block)
    if found is not None:
        return found
    valuation = {"exposure": str(exposure), "owed": str(owed), "collateral_amount": str(amount), "price": str(price)}
    proposal = cure.propose(
        session,
        organization_id=principal.organization_id,
        repo_id=body.repo_id,
        kind=ProposalKind.EXCESS_RETURN,
        episode=body.updated_block,
        mode=mode,
        valuation=valuation,
        instruction=instruction,
        actor=principal.actor,
    )
    cure.notice(
        session,
        organization_id=principal.organization_id,
        repo_id=body.repo_id,
        kind="excess_offered",
        key=f"excess:{body.repo_id}:{body.updated_block}",
        detail={"proposal": str(proposal.id), "collateral_amount": str(amount), "mode": mode.value},
    )
    if mode is Mode.AUTO:
        assert instruction is not None and instruction.decided_by is not None
        wallet = session.get(Wallet, seller_id)
        if wallet is None:
            raise NotFound("wallet not found")
        submit_standing(
            ctx, session, hub, proposal, wallet=wallet, instruction=instruction, steps=steps,
            chain_checked=chain_checked, actor=principal.actor,
        )  # fmt: skip
    session.commit()
    hub.notify()
    return proposal


@router.post("/margin-call-proposals", response_model=ProposalPublic, status_code=202)
def propose_margin_call(body: MarginCallCreate, principal: RiskAct, session: SessionDep) -> RiskProposal:
    """The risk service proposes a margin call for the lender when the pair's agreement implies one and the member
    chose approval (no standing instruction to call): an approver confirms it (``POST /v1/risk/proposals/{id}/
    confirm``, fresh TOTP code) or rejects it. Once per repo state (its last event block); nothing is sent."""
    record = session.get(RepoRecord, body.repo_id)
    if record is None or record.holder_org_id != principal.organization_id or record.seller_org_id is None:
        raise NotFound("repo not found")
    if record.status != RepoStatus.OPEN.value:
        raise InvalidState(f"repo {body.repo_id} is {record.status}")
    agreement = agreements.effective(session, principal.organization_id, record.seller_org_id)
    if agreement is None or agreement.id != body.agreement_id:
        raise PermissionDenied("no effective agreement with this id for the repo's counterparties")
    episode = int(record.updated_block)
    valuation = {"call_amount": body.call_amount, "agreement": str(agreement.id), "version": str(agreement.version)}
    proposal = cure.propose(
        session,
        organization_id=principal.organization_id,
        repo_id=body.repo_id,
        kind=ProposalKind.MARGIN_CALL,
        episode=episode,
        mode=Mode.PROPOSE,
        valuation=valuation,
        instruction=None,
        actor=principal.actor,
    )
    cure.notice(
        session,
        organization_id=principal.organization_id,
        repo_id=body.repo_id,
        kind="margin_call_proposed",
        key=f"margin_call:{body.repo_id}:{episode}",
        detail={"proposal": str(proposal.id), "call_amount": body.call_amount},
    )
    session.commit()
    return proposal


@router.get("/proposals", response_model=ProposalsPublic, status_code=200)
def list_proposals(principal: ReposRead, session: SessionDep) -> ProposalsPublic:
    """The member's close-out and excess-return proposals, newest first (at most 500)."""
    rows = session.scalars(
        select(RiskProposal)
        .where(RiskProposal.organization_id == principal.organization_id)
        .order_by(RiskProposal.created_at.desc())
        .limit(500)
    ).all()
    return ProposalsPublic(data=[ProposalPublic.model_validate(r) for r in rows])


@router.get("/notices", response_model=NoticesPublic, status_code=200)
def list_notices(principal: ReposRead, session: SessionDep) -> NoticesPublic:
    """What the risk service told the member (reminders, lapsed calls, offers), newest first (at most 500)."""
    rows = session.scalars(
        select(RiskNotice)
        .where(RiskNotice.organization_id == principal.organization_id)
        .order_by(RiskNotice.id.desc())
        .limit(500)
    ).all()
    return NoticesPublic(data=[NoticePublic.model_validate(r) for r in rows])


@router.post("/proposals/{proposal_id}/confirm", response_model=ProposalPublic, status_code=202)
def confirm_proposal(
    proposal_id: uuid.UUID,
    principal: ApproverStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> RiskProposal:
    """An approver of the member confirms a proposal: its steps go to the outbox with the approver's consent
    (a close-out: declareDefault, then closeOut from the holder's wallet; an excess return: withdrawExcess; a
    margin call: the relayed callMargin, the engine checking the exposure)."""
    proposal = cure.visible_proposal(read, proposal_id, principal.organization_id)
    if proposal.status != ProposalStatus.PROPOSED.value:
        raise InvalidState(f"the proposal is {proposal.status}")
    market = hub.require_market()
    repo, seller, holder = settlement_service.visible_repo(
        read, market, proposal.repo_id, principal.organization_id, False
    )
    if proposal.kind == ProposalKind.MARGIN_CALL.value:
        return _confirm_call(proposal_id, principal, repo, holder, read, session, hub)
    steps: list[StepSpec]
    if proposal.kind == ProposalKind.CLOSE_OUT.value:
        settlement_service.require_status(repo, RepoStatus.MARGIN_CALLED)
        wallet = settlement_service.require(holder, "position holder")
        steps = cure.close_out_steps(
            market, repo_id=proposal.repo_id, holder=wallet.address, holder_wallet_id=wallet.id
        )
    else:
        settlement_service.require_status(repo, RepoStatus.OPEN)
        wallet = settlement_service.require(seller, "seller")
        amount = int(proposal.valuation["collateral_amount"])
        steps = cure.excess_steps(
            market,
            repo_id=proposal.repo_id,
            seller=wallet.address,
            seller_wallet_id=wallet.id,
            collateral_amount=amount,
        )
    first = steps[0]
    reason = market.revert_reason(sender=first.sender, to=first.to, data=first.data)
    if reason is not None:
        raise StepWouldRevert(f"{first.label} would revert: {reason}")
    chain_checked = verified_before_writing(ctx, read, wallet)
    wallet_id = wallet.id
    read.rollback()
    row = cure.visible_proposal(session, proposal_id, principal.organization_id)
    if row.status != ProposalStatus.PROPOSED.value:
        raise InvalidState(f"the proposal is {row.status}")
    written = session.get(Wallet, wallet_id)
    if written is None:
        raise NotFound("wallet not found")
    consented = door.authorize_steps(
        ctx, session, person=door.Person.of(principal), wallet=written, specs=steps, chain_checked=chain_checked
    )
    row.decided_by, row.decided_at = principal.id, datetime.now(UTC)
    submit(session, hub, row, consented, principal.actor)
    session.commit()
    hub.notify()
    return row


def _confirm_call(
    proposal_id: uuid.UUID,
    principal: Principal,
    repo: OnChainRepo,
    holder: Wallet | None,
    read: Session,
    session: Session,
    hub: Hub,
) -> RiskProposal:
    """A proposed margin call confirmed: the relayed ``callMargin`` (no wallet of the member signs it), asked of
    the engine before the write transaction opens."""
    settlement_service.require(holder, "position holder")
    settlement_service.require_status(repo, RepoStatus.OPEN)
    market = hub.require_market()
    step = StepSpec(
        label="margin_call",
        to=market.engine_address,
        data=market.encode(market.engine, "callMargin", repo.repo_id),
        sender=market.relayer.address,
    )
    reason = market.revert_reason(sender=step.sender, to=step.to, data=step.data)
    if reason is not None:
        raise StepWouldRevert(f"margin_call would revert: {reason}")
    read.rollback()
    row = cure.visible_proposal(session, proposal_id, principal.organization_id)
    if row.status != ProposalStatus.PROPOSED.value:
        raise InvalidState(f"the proposal is {row.status}")
    row.decided_by, row.decided_at = principal.id, datetime.now(UTC)
    submit(session, hub, row, [step], principal.actor)
    session.commit()
    hub.notify()
    return row


@router.post("/proposals/{proposal_id}/reject", response_model=ProposalPublic, status_code=200)
def reject_proposal(proposal_id: uuid.UUID, principal: TradesApprove, session: SessionDep) -> RiskProposal:
    """An approver declines a proposal: nothing is sent (a close-out stays the holder's to declare by hand)."""
    row = cure.visible_proposal(session, proposal_id, principal.organization_id)
    if row.status != ProposalStatus.PROPOSED.value:
        raise InvalidState(f"the proposal is {row.status}")
    row.status, row.decided_by, row.decided_at = ProposalStatus.REJECTED.value, principal.id, datetime.now(UTC)
    audit_log.append(
        session,
        actor=principal.actor,
        action=f"risk.{row.kind}.rejected",
        object_type="repo",
        object_id=str(row.repo_id),
        change={"proposal": str(row.id)},
    )
    session.commit()
    return row
