"""/v1/settlements and the repo lifecycle: repurchase, margin, withdrawal, substitution, amendments,
termination, default and close-out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Protocol, cast

from fastapi import APIRouter, Query
from sqlalchemy import Select, select
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import ContextDep, PageQuery, Principal, SessionDep, read_view
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.chain.bindings.engine import AmendmentKind, RepoStatus
from gateway.custody import door
from gateway.custody.kyc import require_verified
from gateway.db import pages
from gateway.db.models import Wallet
from gateway.exceptions import InvalidRequest
from gateway.indexer import freshness
from gateway.policy import instructions as instruction_policy
from gateway.settlement import instructions, service, visibility
from gateway.settlement.hub import Hub, HubDep
from gateway.settlement.models import ChainStep, Settlement
from gateway.settlement.schemas import (
    AmendmentCreate,
    InstructionPublic,
    MarginBody,
    RepoIdPath,
    SettlementPublic,
    SettlementsPublic,
    StepPublic,
    Submission,
    SubstitutionCreate,
    kind_spellings,
)
from gateway.trading import money
from gateway.trading.deps import Approver, Trader, TraderStepUp
from gateway.trading.models import Instrument

router = APIRouter(tags=["settlement"], responses=problem_responses(401, 403, 404, 409, 413, 422, 429))


def settlement_public(session: SessionDep, settlement: Settlement) -> SettlementPublic:
    steps = [StepPublic.model_validate(s) for s in service.steps_of(session, settlement.id)]
    return SettlementPublic(
        id=settlement.id,
        kind=settlement.kind,
        status=settlement.status,
        trade_id=settlement.trade_id,
        repo_id=settlement.repo_id,
        error=settlement.error,
        created_at=settlement.created_at,
        finished_at=settlement.finished_at,
        steps=steps,
    )


class _Listed(Protocol):
    """A settlement as a list reads it: an ORM row or a row of plain columns."""

    id: uuid.UUID
    kind: str
    status: str
    trade_id: uuid.UUID | None
    repo_id: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


def settlements_public(session: SessionDep, settlements: Sequence[_Listed]) -> list[SettlementPublic]:
    """A page of settlements with their steps in one query more, not one per settlement."""
    steps: dict[uuid.UUID, list[StepPublic]] = {s.id: [] for s in settlements}
    if settlements:
        query = (
            select(*_STEP_COLUMNS)
            .where(ChainStep.settlement_id.in_(list(steps)))
            .order_by(ChainStep.settlement_id, ChainStep.seq)
        )
        for step in session.connection().execute(query):
            steps[step.settlement_id].append(StepPublic.model_validate(step))
    return [
        SettlementPublic(
            id=s.id,
            kind=s.kind,
            status=s.status,
            trade_id=s.trade_id,
            repo_id=s.repo_id,
            error=s.error,
            created_at=s.created_at,
            finished_at=s.finished_at,
            steps=steps[s.id],
        )
        for s in settlements
    ]


def _submission(session: SessionDep, submitted: service.Submitted) -> Submission:
    return Submission(
        settlement=None if submitted.settlement is None else settlement_public(session, submitted.settlement),
        transaction=submitted.transaction,
    )


@router.get("/settlements/{settlement_id}", response_model=SettlementPublic, status_code=200)
def get_settlement(settlement_id: uuid.UUID, principal: ReposRead, session: SessionDep) -> SettlementPublic:
    """A settlement and each chain step until final."""
    settlement = service.load_settlement(session, settlement_id, principal.organization_id, principal.is_operator)
    return settlement_public(session, settlement)


@router.get("/settlements/{settlement_id}/wait", response_model=SettlementPublic, status_code=200)
async def wait_for_settlement(
    settlement_id: uuid.UUID,
    principal: ReposRead,
    session: SessionDep,
    hub: HubDep,
    ctx: ContextDep,
    timeout: Annotated[float, Query(gt=0, le=60)] = 30.0,
) -> SettlementPublic:
    """Long poll: answers once the settlement is final or failed (or at ``timeout`` with its current state),
    holding no database transaction while it waits. A final settlement is answered only once the indexer has
    applied its ``final_block`` (within ``timeout``), so reads that follow reflect it."""
    settlement = await run_in_threadpool(
        service.load_settlement, session, settlement_id, principal.organization_id, principal.is_operator
    )
    pending = settlement.status == "pending"
    await run_in_threadpool(session.commit)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    relayer = hub.relayer
    while pending and loop.time() < deadline:
        if relayer is not None:
            if settlement_id in relayer.finished:
                break
            await asyncio.sleep(0.02)
            continue
        # the relayer runs in another process (several HTTP workers): the database says when it is done
        await asyncio.sleep(0.1)
        await run_in_threadpool(session.refresh, settlement)
        pending = settlement.status == "pending"
        await run_in_threadpool(session.commit)
    await run_in_threadpool(session.refresh, settlement)
    public = await run_in_threadpool(settlement_public, session, settlement)
    await run_in_threadpool(session.commit)
    indexing = "indexer" in hub.extra or hub.relayer is None  # no relayer here: the workers run in another process
    if public.status == "final" and public.final_block is not None and indexing:
        # read-your-writes: "final" only once the indexer has applied the block (reads follow the indexer)
        remaining = max(0.0, deadline - loop.time())
        await freshness.wait_until_indexed_async(ctx.read_sessions, public.final_block, timeout=remaining)
    return public


@router.get("/settlements", response_model=SettlementsPublic, status_code=200)
async def list_settlements(
    principal: ReposRead,
    ctx: ContextDep,
    session: SessionDep,
    page: PageQuery,
    status: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> SettlementsPublic:
    """Settlements the organization is a party to (it asked for them, or they open its trades or carry out
    instructions it signed), newest first. A page is two indexed queries (settlements, then all their steps) of
    plain columns, read on the event loop where reads never wait (``read_view``)."""

    def view() -> SettlementsPublic:
        listed = cast("Select[Any]", select(*_LISTED))  # one row type for ``pages.keyset``
        query = listed.where(visibility.visible_to(session, principal.organization_id))
        if status:
            query = query.where(Settlement.status == status)
        if kind:
            query = query.where(Settlement.kind.in_(kind_spellings(kind)))
        query = pages.keyset(query, page, Settlement.created_at, Settlement.id)
        found = session.connection().execute(query).all()
        rows, next_cursor = pages.finish(found, page, lambda s: (s.created_at, s.id))
        return SettlementsPublic(data=settlements_public(session, rows), next_cursor=next_cursor)

    return await read_view(ctx, view)


_LISTED = (
    Settlement.id,
    Settlement.kind,
    Settlement.status,
    Settlement.trade_id,
    Settlement.repo_id,
    Settlement.error,
    Settlement.created_at,
    Settlement.finished_at,
)
_STEP_COLUMNS = (
    ChainStep.settlement_id,
    ChainStep.seq,
    ChainStep.label,
    ChainStep.sender,
    ChainStep.status,
    ChainStep.nonce,
    ChainStep.tx_hash,
    ChainStep.block_number,
    ChainStep.error,
    ChainStep.sent_at,
    ChainStep.final_at,
)


def _units(session: SessionDep, token: str, value: str, field: str) -> int:
    row = session.get(Instrument, token.lower())
    if row is None:
        raise InvalidRequest(f"{token} is not a listed instrument")
    return money.to_units(value, row.decimals, field=field)


def _party(ctx: ContextDep, session: SessionDep, wallet: Wallet | None, role: str) -> Wallet:
    chosen = service.require(wallet, role)
    require_verified(ctx, session, chosen)
    return chosen


def _load(
    session: SessionDep, hub: Hub, repo_id: int, principal: Principal
) -> tuple[service.OnChainRepo, Wallet | None, Wallet | None]:
    service.authorize_repo(session, repo_id, principal.organization_id, principal.is_operator)
    return service.visible_repo(
        session, hub.require_market(), repo_id, principal.organization_id, principal.is_operator
    )


def _party_step(
    ctx: ContextDep,
    session: SessionDep,
    hub: Hub,
    principal: Principal,
    *,
    repo_id: int,
    wallet: Wallet,
    kind: str,
    fn_name: str,
    args: tuple[int, ...],
    approvals: list[tuple[str, int]] | None = None,
) -> Submission:
    """A step only a party may send: from its custodial wallet (approvals first), or handed to its self-held one."""
    return _submission(
        session,
        service.party_call(
            ctx,
            session,
            hub,
            person=door.Person.of(principal),
            kind=kind,
            repo_id=repo_id,
            wallet=wallet,
            fn_name=fn_name,
            args=args,
            approvals=approvals or [],
            organization_id=principal.organization_id,
        ),
    )


def _relayed_step(
    session: SessionDep, hub: Hub, principal: Principal, *, repo_id: int, kind: str, fn_name: str
) -> Submission:
    """A step anyone may send on a repo, sent by the relayer's operator account."""
    return _submission(
        session,
        service.relayed_call(
            session,
            hub,
            actor=principal.actor,
            kind=kind,
            repo_id=repo_id,
            fn_name=fn_name,
            args=(repo_id,),
            organization_id=principal.organization_id,
        ),
    )


@router.post("/repos/{repo_id}/repurchase", response_model=Submission, status_code=202)
def repurchase(
    repo_id: RepoIdPath, principal: TraderStepUp, ctx: ContextDep, session: SessionDep, hub: HubDep
) -> Submission:
    """The seller pays RP(now) and takes its collateral back (term repos: at or after maturity)."""
    repo, seller, _ = _load(session, hub, repo_id, principal)
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    wallet = _party(ctx, session, seller, "seller")
    market = hub.require_market()
    rp = int(market.engine.functions.repurchasePrice(repo_id, hub.now() + 3_600).call())
    return _party_step(
        ctx,
        session,
        hub,
        principal,
        repo_id=repo_id,
        wallet=wallet,
        kind="repurchase",
        fn_name="repurchase",
        args=(repo_id,),
        approvals=[(repo.cash_token, rp)],
    )


@router.post("/repos/{repo_id}/margin-call", response_model=Submission, status_code=202)
def margin_call(repo_id: RepoIdPath, principal: Trader, session: SessionDep, hub: HubDep) -> Submission:
    """The holder calls margin when exposure exceeds the minimum transfer amount."""
    repo, _, holder = _load(session, hub, repo_id, principal)
    service.require(holder, "position holder")
    service.require_status(repo, RepoStatus.OPEN)
    return _relayed_step(session, hub, principal, repo_id=repo_id, kind="margin_call", fn_name="callMargin")


@router.post("/repos/{repo_id}/margin", response_model=Submission, status_code=202)
def post_margin(
    repo_id: RepoIdPath, body: MarginBody, principal: TraderStepUp, ctx: ContextDep, session: SessionDep, hub: HubDep
) -> Submission:
    """The seller posts collateral and/or cash margin."""
    repo, seller, _ = _load(session, hub, repo_id, principal)
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    wallet = _party(ctx, session, seller, "seller")
    collateral = _units(session, repo.collateral_token, body.collateral_amount, "collateral_amount")
    cash = _units(session, repo.cash_token, body.cash_amount, "cash_amount")
    if collateral == 0 and cash == 0:
        raise InvalidRequest("post some collateral or cash")
    return _party_step(
        ctx,
        session,
        hub,
        principal,
        repo_id=repo_id,
        wallet=wallet,
        kind="post_margin",
        fn_name="postMargin",
        args=(repo_id, collateral, cash),
        approvals=[(repo.collateral_token, collateral), (repo.cash_token, cash)],
    )


@router.post("/repos/{repo_id}/withdraw-excess", response_model=Submission, status_code=202)
def withdraw_excess(
    repo_id: RepoIdPath, body: MarginBody, principal: TraderStepUp, ctx: ContextDep, session: SessionDep, hub: HubDep
) -> Submission:
    """The seller takes excess margin back."""
    repo, seller, _ = _load(session, hub, repo_id, principal)
    service.require_status(repo, RepoStatus.OPEN)
    wallet = _party(ctx, session, seller, "seller")
    collateral = _units(session, repo.collateral_token, body.collateral_amount, "collateral_amount")
    cash = _units(session, repo.cash_token, body.cash_amount, "cash_amount")
    return _party_step(
        ctx,
        session,
        hub,
        principal,
        repo_id=repo_id,
        wallet=wallet,
        kind="withdraw_excess",
        fn_name="withdrawExcess",
        args=(repo_id, collateral, cash),
    )


@router.post("/repos/{repo_id}/terminate", response_model=Submission, status_code=202)
def terminate(
    repo_id: RepoIdPath, principal: TraderStepUp, ctx: ContextDep, session: SessionDep, hub: HubDep
) -> Submission:
    """Termination notice on an open repo (seller or holder)."""
    repo, seller, holder = _load(session, hub, repo_id, principal)
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    wallet = _party(ctx, session, seller or holder, "seller or holder")
    return _party_step(
        ctx,
        session,
        hub,
        principal,
        repo_id=repo_id,
        wallet=wallet,
        kind="terminate",
        fn_name="terminate",
        args=(repo_id,),
    )


@router.post("/repos/{repo_id}/default", response_model=Submission, status_code=202)
def declare_default(repo_id: RepoIdPath, principal: Trader, session: SessionDep, hub: HubDep) -> Submission:
    """The holder declares a default (margin not cured, or not repurchased by maturity + grace)."""
    repo, _, holder = _load(session, hub, repo_id, principal)
    service.require(holder, "position holder")
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    return _relayed_step(session, hub, principal, repo_id=repo_id, kind="default", fn_name="declareDefault")


@router.post("/repos/{repo_id}/close-out", response_model=Submission, status_code=202)
def close_out(
    repo_id: RepoIdPath, principal: TraderStepUp, ctx: ContextDep, session: SessionDep, hub: HubDep
) -> Submission:
    """The holder closes out a defaulted repo; a shortfall is recorded on chain."""
    repo, _, holder = _load(session, hub, repo_id, principal)
    service.require_status(repo, RepoStatus.DEFAULTED)
    wallet = _party(ctx, session, holder, "position holder")
    return _party_step(
        ctx,
        session,
        hub,
        principal,
        repo_id=repo_id,
        wallet=wallet,
        kind="close_out",
        fn_name="closeOut",
        args=(repo_id,),
    )


@router.post("/repos/{repo_id}/substitutions", response_model=InstructionPublic, status_code=201)
def propose_substitution(
    repo_id: RepoIdPath, body: SubstitutionCreate, principal: Trader, session: SessionDep, hub: HubDep
) -> InstructionPublic:
    """The seller proposes new collateral; the holder consents by signing; then the seller's wallet sends it."""
    repo, seller, _ = _load(session, hub, repo_id, principal)
    service.require(seller, "seller")
    service.require_status(repo, RepoStatus.OPEN)
    amount = _units(session, body.new_collateral_token, body.new_collateral_amount, "new_collateral_amount")
    instruction = instructions.create(
        session,
        hub,
        actor=principal.actor,
        repo_id=repo_id,
        kind="Substitution",
        message={"repoId": repo_id, "newCollateralToken": body.new_collateral_token, "newCollateralAmount": amount},
        required=[repo.holder or ""],
    )
    return instructions.public(hub, instruction)


@router.post("/repos/{repo_id}/amendments", response_model=InstructionPublic, status_code=201)
def propose_amendment(
    repo_id: RepoIdPath, body: AmendmentCreate, principal: Trader, session: SessionDep, hub: HubDep
) -> InstructionPublic:
    """Roll (new maturity) or re-rate (new rate); seller and holder both sign."""
    repo, seller, holder = _load(session, hub, repo_id, principal)
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
        message = {"repoId": repo_id, "kind": int(AmendmentKind.ROLL), "newMaturity": new_maturity, "newRate": 0}
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
    return instructions.public(hub, instruction)


@router.get("/instructions/{instruction_id}", response_model=InstructionPublic, status_code=200)
def get_instruction(
    instruction_id: uuid.UUID, principal: ReposRead, session: SessionDep, hub: HubDep
) -> InstructionPublic:
    """The instruction with its EIP-712 typed data (for self-held wallets)."""
    return instructions.public(hub, instructions.load(session, hub, instruction_id, principal.organization_id))


def _sign_instruction(
    ctx: ContextDep,
    session: SessionDep,
    hub: Hub,
    principal: Principal,
    instruction_id: uuid.UUID,
    *,
    signature: str | None,
) -> InstructionPublic:
    """Add one party's signature (custodial when ``signature`` is None); queue the instruction once complete."""
    instruction = instructions.load(session, hub, instruction_id, principal.organization_id)
    instructions.sign(
        ctx,
        session,
        hub,
        person=door.Person.of(principal),
        instruction=instruction,
        signature=signature,
    )
    instructions.submit_if_complete(ctx, session, hub, person=door.Person.of(principal), instruction=instruction)
    return instructions.public(hub, instruction)


@router.post("/instructions/{instruction_id}/sign", response_model=InstructionPublic, status_code=200)
def sign_instruction(
    instruction_id: uuid.UUID, principal: TraderStepUp, ctx: ContextDep, session: SessionDep, hub: HubDep
) -> InstructionPublic:
    """The organization's custodial wallet signs (KYC, fresh step-up); complete instructions are queued."""
    return _sign_instruction(ctx, session, hub, principal, instruction_id, signature=None)


@router.post("/instructions/{instruction_id}/signature", response_model=InstructionPublic, status_code=200)
def submit_instruction_signature(
    instruction_id: uuid.UUID,
    body: dict[str, str],
    principal: Trader,
    ctx: ContextDep,
    session: SessionDep,
    hub: HubDep,
) -> InstructionPublic:
    """A self-held wallet's signature of the instruction's typed data."""
    signature = body.get("signature", "")
    if not (signature.startswith("0x") and 4 <= len(signature) <= 2002):
        raise InvalidRequest("signature: 0x-prefixed hex")
    return _sign_instruction(ctx, session, hub, principal, instruction_id, signature=signature)


@router.post("/instructions/{instruction_id}/submit", response_model=InstructionPublic, status_code=200)
def submit_instruction(
    instruction_id: uuid.UUID, principal: TraderStepUp, ctx: ContextDep, session: SessionDep, hub: HubDep
) -> InstructionPublic:
    """The seller sends a fully consented substitution from its wallet."""
    instruction = instructions.load(session, hub, instruction_id, principal.organization_id)
    instructions.submit_if_complete(ctx, session, hub, person=door.Person.of(principal), instruction=instruction)
    return instructions.public(hub, instruction)


@router.post("/instructions/{instruction_id}/approvals", response_model=InstructionPublic, status_code=201)
def approve_instruction(
    instruction_id: uuid.UUID, principal: Approver, session: SessionDep, hub: HubDep
) -> InstructionPublic:
    """An approver's yes to the instruction for the organization (its policy's quorum); never its proposer."""
    instruction = instructions.load(session, hub, instruction_id, principal.organization_id)
    instruction_policy.approve(
        session,
        actor=principal.actor,
        user_id=principal.id,
        organization_id=principal.organization_id,
        instruction=instruction,
    )
    return instructions.public(hub, instruction)
