"""The repo lifecycle steps on /v1/repos/{id}: repurchase, margin call and posting, withdrawal of excess,
termination, default and close-out.

Each route asks the database and then the chain in its read session (the caller a party by the database before the
chain is asked, the repo, the party's wallet in the registry, the amounts); the step's own chain reads (approvals,
the engine's simulation) come before its write transaction opens (gateway.chain.guard)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from gateway.api.deps import ContextDep, Principal, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.chain.bindings.engine import RepoStatus
from gateway.context import GatewayContext
from gateway.custody import door
from gateway.custody.kyc import require_verified
from gateway.db.models import Wallet
from gateway.exceptions import InvalidRequest
from gateway.settlement import service
from gateway.settlement.hub import Hub, HubDep
from gateway.settlement.schemas import (
    MarginBody,
    RepoIdPath,
    Submission,
)
from gateway.settlement.views import submission
from gateway.trading import money
from gateway.trading.deps import Trader, TraderStepUp
from gateway.trading.models import Instrument

router = APIRouter(tags=["settlement"], responses=problem_responses(401, 403, 404, 409, 413, 422, 429))


def units_of(session: Session, token: str, value: str, field: str) -> int:
    row = session.get(Instrument, token.lower())
    if row is None:
        raise InvalidRequest(f"{token} is not a listed instrument")
    return money.to_units(value, row.decimals, field=field)


def _party(ctx: GatewayContext, session: Session, wallet: Wallet | None, role: str) -> Wallet:
    chosen = service.require(wallet, role)
    require_verified(ctx, session, chosen)
    return chosen


def load_repo(
    session: Session, hub: Hub, repo_id: int, principal: Principal
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
    return submission(
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
            chain_checked=wallet.address,  # ``_party`` asked the registry for this wallet
        ),
    )


def _relayed_step(
    session: SessionDep,
    hub: Hub,
    principal: Principal,
    *,
    repo_id: int,
    kind: str,
    fn_name: str,
    simulated: bool = False,
) -> Submission:
    """A step anyone may send on a repo, sent by the relayer's operator account."""
    return submission(
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
            simulated=simulated,
        ),
    )


@router.post("/repos/{repo_id}/repurchase", response_model=Submission, status_code=202)
def repurchase(
    repo_id: RepoIdPath,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> Submission:
    """The seller pays RP(now) and takes its collateral back (term repos: at or after maturity)."""
    repo, seller, _ = load_repo(read, hub, repo_id, principal)
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    wallet = _party(ctx, read, seller, "seller")
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
def margin_call(
    repo_id: RepoIdPath, principal: Trader, read: ReadSessionDep, session: SessionDep, hub: HubDep
) -> Submission:
    """The holder calls margin when exposure exceeds the minimum transfer amount."""
    check_margin_call(read, hub, repo_id, principal)
    return send_margin_call(session, hub, repo_id, principal)


def check_margin_call(read: Session, hub: Hub, repo_id: int, principal: Principal) -> None:
    """Every chain read of a margin call, before any write transaction: the repo, that the caller holds its position,
    and the engine's simulation of ``callMargin`` (409 with the engine's reason if it would refuse)."""
    repo, _, holder = load_repo(read, hub, repo_id, principal)
    service.require(holder, "position holder")
    service.require_status(repo, RepoStatus.OPEN)
    service.simulate_relayed(hub, kind="margin_call", fn_name="callMargin", args=(repo_id,))


def send_margin_call(session: Session, hub: Hub, repo_id: int, principal: Principal) -> Submission:
    """The checked call queued for the relayer (no chain call: ``check_margin_call`` made them)."""
    return _relayed_step(
        session, hub, principal, repo_id=repo_id, kind="margin_call", fn_name="callMargin", simulated=True
    )


@router.post("/repos/{repo_id}/margin", response_model=Submission, status_code=202)
def post_margin(
    repo_id: RepoIdPath,
    body: MarginBody,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> Submission:
    """The seller posts collateral and/or cash margin."""
    repo, seller, _ = load_repo(read, hub, repo_id, principal)
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    wallet = _party(ctx, read, seller, "seller")
    collateral = units_of(read, repo.collateral_token, body.collateral_amount, "collateral_amount")
    cash = units_of(read, repo.cash_token, body.cash_amount, "cash_amount")
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
    repo_id: RepoIdPath,
    body: MarginBody,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> Submission:
    """The seller takes excess margin back."""
    repo, seller, _ = load_repo(read, hub, repo_id, principal)
    service.require_status(repo, RepoStatus.OPEN)
    wallet = _party(ctx, read, seller, "seller")
    collateral = units_of(read, repo.collateral_token, body.collateral_amount, "collateral_amount")
    cash = units_of(read, repo.cash_token, body.cash_amount, "cash_amount")
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
    repo_id: RepoIdPath,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> Submission:
    """Termination notice on an open repo (seller or holder)."""
    repo, seller, holder = load_repo(read, hub, repo_id, principal)
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    wallet = _party(ctx, read, seller or holder, "seller or holder")
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
def declare_default(
    repo_id: RepoIdPath, principal: Trader, read: ReadSessionDep, session: SessionDep, hub: HubDep
) -> Submission:
    """The holder declares a default (margin not cured, or not repurchased by maturity + grace)."""
    repo, _, holder = load_repo(read, hub, repo_id, principal)
    service.require(holder, "position holder")
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    return _relayed_step(session, hub, principal, repo_id=repo_id, kind="default", fn_name="declareDefault")


@router.post("/repos/{repo_id}/close-out", response_model=Submission, status_code=202)
def close_out(
    repo_id: RepoIdPath,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> Submission:
    """The holder closes out a defaulted repo; a shortfall is recorded on chain."""
    repo, _, holder = load_repo(read, hub, repo_id, principal)
    service.require_status(repo, RepoStatus.DEFAULTED)
    wallet = _party(ctx, read, holder, "position holder")
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
