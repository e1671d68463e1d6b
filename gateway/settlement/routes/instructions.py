"""Two-party instructions on a repo: substitutions, amendments (roll, re-rate) and early repurchase by agreement,
their signatures, approvals or rejection, and submission."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from gateway.api.deps import ContextDep, Principal, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.chain.bindings.engine import AmendmentKind, RepoStatus
from gateway.custody import door
from gateway.db.models import Wallet
from gateway.exceptions import InvalidRequest, NotFound, PermissionDenied
from gateway.policy import instructions as instruction_policy
from gateway.policy import rejections
from gateway.policy.schemas import RejectionCreate
from gateway.settlement import instruction_checks, instructions, service
from gateway.settlement.hub import Hub, HubDep
from gateway.settlement.instruction_events import Change, announce
from gateway.settlement.routes.repos import load_repo, units_of
from gateway.settlement.schemas import (
    AmendmentCreate,
    InstructionPublic,
    RepoIdPath,
    SubstitutionCreate,
)
from gateway.settlement_records.models import Instruction, InstructionStatus, RepoRecord
from gateway.trading import maturity as repo_maturity
from gateway.trading import money
from gateway.trading.announcer_dep import AnnouncerDep
from gateway.trading.deps import Approver, Trader, TraderStepUp
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import Trade

router = APIRouter(tags=["settlement"], responses=problem_responses(401, 403, 404, 409, 413, 422, 429))


@router.post("/repos/{repo_id}/substitutions", response_model=InstructionPublic, status_code=201)
def propose_substitution(
    repo_id: RepoIdPath,
    body: SubstitutionCreate,
    principal: Trader,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    announcer: AnnouncerDep,
) -> InstructionPublic:
    """The seller proposes new collateral; the holder consents by signing; then the seller's wallet sends it. The
    repo and the bond's maturity are read in the read session, before the write transaction."""
    repo, seller, _ = load_repo(read, hub, repo_id, principal)
    service.require(seller, "seller")
    service.require_status(repo, RepoStatus.OPEN)
    amount = units_of(read, body.new_collateral_token, body.new_collateral_amount, "new_collateral_amount")
    repo_maturity.require_outlives(
        read, hub, collateral_token=body.new_collateral_token, repo_maturity=int(repo.state.maturity)
    )
    instruction = instructions.create(
        session,
        hub,
        actor=principal.actor,
        repo_id=repo_id,
        kind="Substitution",
        message={"repoId": repo_id, "newCollateralToken": body.new_collateral_token, "newCollateralAmount": amount},
        required=[repo.holder or ""],
    )
    announce(announcer, session, Change.CREATED, instruction)
    return instructions.public(hub, instruction)


@router.post("/repos/{repo_id}/amendments", response_model=InstructionPublic, status_code=201)
def propose_amendment(
    repo_id: RepoIdPath,
    body: AmendmentCreate,
    principal: Trader,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    announcer: AnnouncerDep,
) -> InstructionPublic:
    """Roll (new maturity), re-rate (new rate) or coupon election (coupons to the seller, or off the repurchase
    price); seller and holder both sign, as the engine requires for every amendment. The repo, the chain's clock
    and the bond's maturity are read in the read session, before the write transaction."""
    repo, seller, holder = load_repo(read, hub, repo_id, principal)
    if seller is None and holder is None:
        service.require(None, "seller or holder")
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    if body.kind == "roll":
        if body.new_maturity is not None:
            new_maturity = int(body.new_maturity.timestamp())
        elif body.new_tenor_seconds is not None:
            new_maturity = hub.now() + body.new_tenor_seconds
        else:
            raise InvalidRequest("a roll needs new_maturity or new_tenor_seconds")
        repo_maturity.require_outlives(
            read, hub, collateral_token=str(repo.state.collateral_token), repo_maturity=new_maturity
        )
        message = {"repoId": repo_id, "kind": int(AmendmentKind.ROLL), "newMaturity": new_maturity, "newRate": 0}
    elif body.kind == "coupon_election":
        if body.apply_coupons_to_repurchase_price is None:
            raise InvalidRequest("a coupon election needs apply_coupons_to_repurchase_price")
        # the engine reads the election from newRate (nonzero: reduce the repurchase price)
        elect = int(body.apply_coupons_to_repurchase_price)
        message = {"repoId": repo_id, "kind": int(AmendmentKind.COUPON_ELECTION), "newMaturity": 0, "newRate": elect}
    else:
        if body.new_rate is None:
            raise InvalidRequest("a re-rate needs new_rate")
        message = {
            "repoId": repo_id,
            "kind": int(AmendmentKind.RERATE),
            "newMaturity": 0,
            "newRate": money.rate_to_wad(body.new_rate),
        }
    required = sorted({repo.seller.lower(), (repo.holder or repo.seller).lower()})
    instruction = instructions.create(
        session, hub, actor=principal.actor, repo_id=repo_id, kind="Amendment", message=message, required=required
    )
    announce(announcer, session, Change.CREATED, instruction)
    return instructions.public(hub, instruction)


@router.post("/repos/{repo_id}/early-repurchase", response_model=InstructionPublic, status_code=201)
def propose_early_repurchase(
    repo_id: RepoIdPath,
    principal: Trader,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    announcer: AnnouncerDep,
) -> InstructionPublic:
    """Repurchase before maturity by agreement: either party proposes, the position's holder consents by signing
    (the engine's ``repurchaseEarly``), then the seller's wallet pays RP(now) and takes its collateral back (POST
    /instructions/{id}/submit, or at once when the seller's organization signs last). The repo is read in the read
    session, before the write transaction."""
    repo, seller, holder = load_repo(read, hub, repo_id, principal)
    if seller is None and holder is None:
        service.require(None, "seller or holder")
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    instruction = instructions.create(
        session,
        hub,
        actor=principal.actor,
        repo_id=repo_id,
        kind="EarlyRepurchase",
        message={"repoId": repo_id},
        required=[repo.holder or repo.seller],
    )
    announce(announcer, session, Change.CREATED, instruction)
    return instructions.public(hub, instruction)


class InstructionList(BaseModel):
    """Newest first, at most ``LISTED``."""

    data: list[InstructionPublic]
    next_cursor: str | None = None


LISTED = 100
SCANNED = 10_000  # a holder's list looks this far back among the seller's instructions, however many it made


@router.get("/repos/{repo_id}/instructions", response_model=InstructionList, status_code=200)
def repo_instructions(repo_id: RepoIdPath, principal: ReposRead, read: ReadSessionDep, hub: HubDep) -> InstructionList:
    """The repo's instructions in every state, for its seller and its current holder (else 404; operator staff
    included): what the other party proposed and waits for this side's signature, and what became of it. As
    ``GET /v1/instructions/{id}``: the seller sees every instruction on its repo, anyone else only those its
    wallets must sign (a former holder does not see what its successor agrees)."""
    seller, holder = _parties_of(read, repo_id)
    org = principal.organization_id
    if org not in (seller, holder):
        raise NotFound("repo not found")
    newest_first = select(Instruction).where(Instruction.repo_id == repo_id).order_by(Instruction.created_at.desc())
    if org == seller:
        rows = list(read.scalars(newest_first.limit(LISTED)))
    else:  # the newest LISTED of those its wallets must sign, however many others came after them
        own = {a.lower() for a in read.scalars(select(Wallet.address).where(Wallet.organization_id == org))}
        rows = []
        for row in read.scalars(newest_first.limit(SCANNED).execution_options(yield_per=200)):
            if own & {a.lower() for a in row.required}:
                rows.append(row)
                if len(rows) == LISTED:
                    break
    return InstructionList(data=[instructions.public(hub, row) for row in rows])


def _parties_of(read: ReadSessionDep, repo_id: int) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The repo's seller and current holder organizations as indexed; before the indexer has the repo, the trade
    that opened it (its buyer is the first holder)."""
    record = read.get(RepoRecord, repo_id)
    if record is not None:
        return record.seller_org_id, record.holder_org_id
    trade = read.scalars(select(Trade).where(Trade.repo_id == repo_id)).first()
    return (trade.seller_org_id, trade.buyer_org_id) if trade is not None else (None, None)


@router.get("/instructions/{instruction_id}", response_model=InstructionPublic, status_code=200)
def get_instruction(
    instruction_id: uuid.UUID, principal: ReposRead, session: SessionDep, hub: HubDep
) -> InstructionPublic:
    """The instruction with its EIP-712 typed data (for self-held wallets)."""
    return instructions.public(hub, instructions.load(session, hub, instruction_id, principal.organization_id))


def _sign_instruction(
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: Hub,
    principal: Principal,
    instruction_id: uuid.UUID,
    announcer: AnnouncerDep,
    *,
    signature: str | None,
) -> InstructionPublic:
    """Add one party's signature (custodial when ``signature`` is None); queue the instruction once complete. The
    chain (repo, registry, ERC-1271, allowances, the engine's verdict) is asked in the read session first."""
    checked = instruction_checks.before_signing(
        ctx, read, hub, instruction_id=instruction_id, organization_id=principal.organization_id, signature=signature
    )
    read.rollback()
    person = door.Person.of(principal)
    instruction = instructions.sign(ctx, session, hub, person=person, checked=checked, signature=signature)
    submitted = instructions.submit_if_complete(
        ctx, session, hub, person=person, instruction=instruction, checked=checked
    )
    announce(announcer, session, Change.SIGNED, instruction)
    if instruction.status == InstructionStatus.HANDED_OUT:  # the last signature was the sending seller's own
        announce(announcer, session, Change.HANDED_OUT, instruction)
    return _with_transaction(instructions.public(hub, instruction), submitted)


def _with_transaction(public: InstructionPublic, submitted: service.Submitted | None) -> InstructionPublic:
    """A self-held sender's step comes back as the unsigned transaction its wallet sends (this answer only)."""
    if submitted is not None and submitted.transaction is not None:
        return public.model_copy(update={"transaction": submitted.transaction})
    return public


@router.post("/instructions/{instruction_id}/sign", response_model=InstructionPublic, status_code=200)
def sign_instruction(
    instruction_id: uuid.UUID,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    announcer: AnnouncerDep,
) -> InstructionPublic:
    """The organization's custodial wallet signs (KYC, fresh step-up); complete instructions are queued."""
    return _sign_instruction(ctx, read, session, hub, principal, instruction_id, announcer, signature=None)


@router.post("/instructions/{instruction_id}/signature", response_model=InstructionPublic, status_code=200)
def submit_instruction_signature(
    instruction_id: uuid.UUID,
    body: dict[str, str],
    principal: Trader,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    announcer: AnnouncerDep,
) -> InstructionPublic:
    """A self-held wallet's signature of the instruction's typed data."""
    signature = body.get("signature", "")
    if not (signature.startswith("0x") and 4 <= len(signature) <= 2002):
        raise InvalidRequest("signature: 0x-prefixed hex")
    return _sign_instruction(ctx, read, session, hub, principal, instruction_id, announcer, signature=signature)


@router.post("/instructions/{instruction_id}/submit", response_model=InstructionPublic, status_code=200)
def submit_instruction(
    instruction_id: uuid.UUID,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    announcer: AnnouncerDep,
) -> InstructionPublic:
    """The seller sends a fully consented substitution or early repurchase from its wallet (the chain asked in the
    read session): queued from a custodial wallet, or handed back as the transaction a self-held one sends. 409 when
    there is nothing to send: not pending, not fully signed, or not this organization's to send."""
    checked = instruction_checks.before_submitting(
        ctx, read, hub, instruction_id=instruction_id, organization_id=principal.organization_id
    )
    read.rollback()
    instruction = instructions.for_writing(session, checked)
    was = instruction.status
    person = door.Person.of(principal)
    submitted = instructions.submit_if_complete(
        ctx, session, hub, person=person, instruction=instruction, checked=checked
    )
    if submitted is None:
        raise InvalidState(
            f"nothing to send: the instruction is {instruction.status}, waits for a signature, or is not yours to send"
        )
    if instruction.status != was:  # handed out again: nothing new to tell
        handed_out = instruction.status == InstructionStatus.HANDED_OUT
        announce(announcer, session, Change.HANDED_OUT if handed_out else Change.SUBMITTED, instruction)
    return _with_transaction(instructions.public(hub, instruction), submitted)


@router.post("/instructions/{instruction_id}/approvals", response_model=InstructionPublic, status_code=201)
def approve_instruction(
    instruction_id: uuid.UUID, principal: Approver, read: ReadSessionDep, session: SessionDep, hub: HubDep
) -> InstructionPublic:
    """An approver's yes to the instruction for the organization (its policy's quorum); never its proposer. Who
    may see it is decided in the read session (the repo's seller is a chain read)."""
    instructions.load(read, hub, instruction_id, principal.organization_id)
    read.rollback()
    instruction = instructions.get(session, instruction_id)
    instruction_policy.approve(
        session,
        actor=principal.actor,
        user_id=principal.id,
        organization_id=principal.organization_id,
        instruction=instruction,
    )
    return instructions.public(hub, instruction)


@router.post("/instructions/{instruction_id}/rejections", response_model=InstructionPublic, status_code=201)
def reject_instruction(
    instruction_id: uuid.UUID,
    body: RejectionCreate,
    principal: Approver,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    announcer: AnnouncerDep,
) -> InstructionPublic:
    """An approver's no to the instruction, with its reason: rejected for every party, while none of the
    organization's wallets has signed it. Only an organization that must sign it may say no (the repo's seller
    that signs nothing sees it but cannot stop it)."""
    instructions.load(read, hub, instruction_id, principal.organization_id)
    read.rollback()
    instruction = instructions.get(session, instruction_id)
    own = {w.address.lower() for w in instructions.wallets_of(session, list(instruction.required))
           if w.organization_id == principal.organization_id}  # fmt: skip
    if not own:
        raise PermissionDenied("your organization does not sign this instruction")
    rejections.reject_instruction(
        session,
        actor=principal.actor,
        user_id=principal.id,
        organization_id=principal.organization_id,
        instruction=instruction,
        own_addresses=own,
        reason=body.reason,
    )
    announce(announcer, session, Change.REJECTED, instruction, reason=body.reason)
    return instructions.public(hub, instruction)
