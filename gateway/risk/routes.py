"""/v1/risk: margin agreements (a member proposes, the counterparty approves), the valuation inputs of the repos
a member holds, and the margin call the risk service makes for a lender under its standing instruction."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from gateway.api.deps import ContextDep, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead, RiskAct, TradesApprove
from gateway.chain.bindings.engine import RepoStatus
from gateway.db import audit_log
from gateway.exceptions import NotFound, PermissionDenied
from gateway.leases import service as leases
from gateway.leases.models import LeaseKind
from gateway.leases.routes import LeaseToken
from gateway.positions import accrual
from gateway.risk import service
from gateway.risk.fx_inputs import FxReader, Priced
from gateway.risk.schemas import (
    AgreementApproval,
    AgreementCreate,
    AgreementPublic,
    AgreementsPublic,
    FxRate,
    MarginCallCreate,
    RepoInputs,
    RepoInputsPublic,
)
from gateway.settlement.hub import HubDep
from gateway.settlement.routes import repos as settlement_repos
from gateway.settlement.schemas import Submission
from gateway.settlement_records import freshness
from gateway.settlement_records.models import RepoRecord
from gateway.trading.models import Instrument

router = APIRouter(prefix="/risk", tags=["risk"], responses=problem_responses(401, 403, 404, 409, 422, 429))
LIVE = (RepoStatus.OPEN.value, RepoStatus.MARGIN_CALLED.value)


@router.post("/agreements", response_model=AgreementPublic, status_code=201)
def propose_agreement(body: AgreementCreate, principal: TradesApprove, session: SessionDep) -> AgreementPublic:
    """Propose a new version of the margin terms with a counterparty; it takes effect when the counterparty
    approves (``auto_call``: the proposer's standing instruction for the risk service)."""
    row = service.propose(session, organization_id=principal.organization_id, data=body, actor=principal.actor)
    answer = service.public(session, row)
    session.commit()
    return answer


@router.post("/agreements/{agreement_id}/approve", response_model=AgreementPublic, status_code=200)
def approve_agreement(
    agreement_id: uuid.UUID, body: AgreementApproval, principal: TradesApprove, session: SessionDep
) -> AgreementPublic:
    """The counterparty approves a proposed version: it becomes effective and supersedes the pair's previous one."""
    row = service.approve(
        session,
        organization_id=principal.organization_id,
        agreement_id=agreement_id,
        auto_call=body.auto_call,
        actor=principal.actor,
    )
    answer = service.public(session, row)
    session.commit()
    return answer


@router.get("/agreements", response_model=AgreementsPublic, status_code=200)
def list_agreements(
    principal: ReposRead,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(proposed|effective|superseded)$")] = None,
) -> AgreementsPublic:
    """The member's agreements, every version, newest first (at most 500)."""
    rows = service.listed(session, organization_id=principal.organization_id, status=status)
    return AgreementsPublic(data=[service.public(session, r) for r in rows])


@router.get("/agreements/{agreement_id}", response_model=AgreementPublic, status_code=200)
def get_agreement(agreement_id: uuid.UUID, principal: ReposRead, session: SessionDep) -> AgreementPublic:
    return service.public(session, service.visible(session, agreement_id, principal.organization_id))


@router.get("/repos", response_model=RepoInputsPublic, status_code=200)
def repo_inputs(
    principal: ReposRead, session: SessionDep, hub: HubDep, ctx: ContextDep, response: Response
) -> RepoInputsPublic:
    """The live repos the member holds (it is the cash lender), with what valuing them needs, in smallest units:
    RP accrued to the chain's now, the followed oracle price (null when stale), haircut and cash margin."""
    block = freshness.require_block(session, ctx.read_sessions, None)
    if block is not None:
        response.headers[freshness.HEADER] = str(block)
    now = hub.now() if hub.market is not None else 0
    rows = session.scalars(
        select(RepoRecord)
        .where(
            RepoRecord.holder_org_id == principal.organization_id,
            RepoRecord.status.in_(LIVE),
            RepoRecord.seller_org_id.is_not(None),
        )
        .order_by(RepoRecord.repo_id)
        .limit(5_000)
    ).all()
    fx = FxReader(session, hub.market.oracle_at_head() if hub.market is not None else None, now)
    prices: dict[tuple[str, str], Priced] = {}
    bonds: dict[str, Instrument | None] = {}
    data = []
    for r in rows:
        pair = (r.collateral_token.lower(), r.cash_token.lower())
        if pair not in prices:
            prices[pair] = fx.collateral(pair[0], pair[1])
        rp = accrual.repurchase_price(
            purchase_price=int(r.purchase_price),
            rate=int(r.rate),
            basis=r.day_count_basis,
            period_start=r.period_start,
            maturity=r.maturity,
            crystallized_pd=int(r.crystallized_pd),
            at=now,
        )
        price = prices[pair]
        if pair[0] not in bonds:
            bonds[pair[0]] = session.get(Instrument, pair[0])
        bond = bonds[pair[0]]
        assert r.holder_org_id is not None and r.seller_org_id is not None  # the query's conditions
        data.append(
            RepoInputs(
                repo_id=r.repo_id,
                lender=r.holder_org_id,
                borrower=r.seller_org_id,
                status=r.status,
                cash_token=r.cash_token,
                collateral_token=r.collateral_token,
                collateral_isin=bond.isin if bond is not None else None,
                collateral_currency=bond.currency if bond is not None else None,
                repurchase_price=str(rp),
                collateral_amount=str(r.collateral_amount),
                cash_margin=str(r.cash_margin),
                haircut_bps=r.haircut_bps,
                min_transfer_amount=str(r.min_transfer_amount),
                price=None if price.price is None else str(price.price),
                price_currency=price.currency,
                fx_rate=None if price.fx_rate is None else str(price.fx_rate),
                fx_haircut_bps=price.fx_haircut_bps,
                valued_at=now,
                updated_block=int(r.updated_block),
            )
        )
    bases = {
        a.base_currency.lower()
        for a in service.listed(session, organization_id=principal.organization_id, status="effective")
    }
    rates = [fx.rate(q, b) for q in sorted({p[1] for p in prices}) for b in sorted(bases) if q != b]
    return RepoInputsPublic(
        data=data,
        fx=[
            FxRate(quote=x.quote, base=x.base, rate=None if x.rate is None else str(x.rate), haircut_bps=x.haircut_bps)
            for x in rates
        ],
        as_of_block=block,
    )


@router.post("/margin-calls", response_model=Submission, status_code=202)
def risk_margin_call(
    body: MarginCallCreate,
    principal: RiskAct,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    lease_token: LeaseToken = None,
) -> Submission:
    """The risk service calls margin for the lender: only on a repo the member holds, only under the pair's
    effective agreement and only if the member's standing instruction allows it. The step is the same relayed
    ``callMargin`` a trader's call sends (the engine checks the exposure); send an Idempotency-Key (its answer and
    this audit entry then commit together). The checks and the chain's reads come before the write transaction;
    with an X-Lease-Token, only the risk lease's current holder may call (409 for a stale one): refused early on the
    read session, then checked again, locked, inside the write transaction."""
    record = read.get(RepoRecord, body.repo_id)
    if record is None or record.holder_org_id != principal.organization_id or record.seller_org_id is None:
        raise NotFound("repo not found")
    agreement = service.effective(read, principal.organization_id, record.seller_org_id)
    if agreement is None or agreement.id != body.agreement_id:
        raise PermissionDenied("no effective agreement with this id for the repo's counterparties")
    if not service.standing_instruction(agreement, principal.organization_id):
        raise PermissionDenied("the member has not instructed the risk service to call margin")
    agreement_id, version = agreement.id, agreement.version
    leases.check(read, LeaseKind.RISK, principal.organization_id, lease_token, lock=False)  # before the chain reads
    settlement_repos.check_margin_call(read, hub, body.repo_id, principal)
    read.rollback()
    leases.check(session, LeaseKind.RISK, principal.organization_id, lease_token)  # a stale risk leader: 409
    submitted = settlement_repos.send_margin_call(session, hub, body.repo_id, principal)
    audit_log.append(
        session,
        actor=principal.actor,
        action="risk.margin_call",
        object_type="repo",
        object_id=str(body.repo_id),
        change={"agreement": str(agreement_id), "version": version, "call_amount": body.call_amount},
    )
    session.commit()
    return submitted
