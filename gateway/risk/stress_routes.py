"""/v1/risk/stress: what-if shocks on the member's live repos (both sides) → the calls its agreements imply and
the close-out shortfalls per counterparty (nothing is sent or called; the totals go on the member's stream and
webhooks as ``risk.stress``); /v1/risk/exposure: the risk service's current picture of a member, put on its stream
and webhooks as ``risk.exposure`` (through ``gateway.risk.messages``: every worker's stream shows it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.api.deps import ContextDep, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead, RiskAct
from gateway.risk import history, inputs, messages, stress
from gateway.risk.stress_schemas import (
    CurrencyTotals,
    ExposureSnapshot,
    PairStress,
    ScenarioStress,
    ShockIn,
    StressReport,
    StressRequest,
)
from gateway.settlement.hub import HubDep
from gateway.settlement_records import freshness
from gateway.settlement_records.models import RepoRecord
from gateway.trading.money import from_units

router = APIRouter(prefix="/risk", tags=["risk"], responses=problem_responses(401, 403, 422, 429))


def scenarios_of(body: StressRequest) -> list[stress.Scenario]:
    return [
        stress.Scenario(s.name, tuple(stress.Shock(k.kind, k.target.lower(), k.bps) for k in s.shocks))
        for s in body.scenarios
    ]


def report(result: list[stress.ScenarioResult], body: StressRequest, decimals: dict[str, int]) -> list[ScenarioStress]:
    out = []
    for res, asked in zip(result, body.scenarios, strict=True):
        pairs = [
            PairStress(
                role=p.role,
                counterparty_id=uuid.UUID(p.counterparty),
                cash_token=p.cash_token,
                agreement_id=uuid.UUID(p.agreement_id) if p.agreement_id else None,
                repos=p.repos,
                exposure_before=from_units(p.exposure_before, decimals[p.cash_token]),
                exposure_after=from_units(p.exposure_after, decimals[p.cash_token]),
                call_before=from_units(p.call_before, decimals[p.cash_token]),
                call_after=from_units(p.call_after, decimals[p.cash_token]),
                shortfall_after=from_units(p.shortfall_after, decimals[p.cash_token]),
            )
            for p in res.pairs
        ]
        tokens = sorted({p.cash_token for p in res.pairs})
        totals = [
            CurrencyTotals(
                cash_token=t,
                calls_to_make=from_units(res.calls_to_make.get(t, 0), decimals[t]),
                calls_to_meet=from_units(res.calls_to_meet.get(t, 0), decimals[t]),
                shortfall=from_units(res.shortfall.get(t, 0), decimals[t]),
            )
            for t in tokens
        ]
        out.append(ScenarioStress(name=res.name, shocks=[ShockIn.model_validate(k) for k in asked.shocks],
                                  pairs=pairs, totals=totals))  # fmt: skip
    return out


@router.post("/stress", response_model=StressReport, status_code=200)
def run_stress(
    body: StressRequest,
    principal: ReposRead,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    ctx: ContextDep,
    response: Response,
) -> StressReport:
    """Shock prices per instrument, issuer (ISIN prefix), currency or rate, and answer per scenario the margin
    calls the member's effective agreements would imply and the close-out shortfalls, per counterparty, as lender
    and as borrower (the ``before`` figures are today's); under an agreement a pair's repos in every cash currency
    net in its base currency through the FX rates, as the risk service values them."""
    block = freshness.require_block(read, ctx.read_sessions, None)
    if block is not None:
        response.headers[freshness.HEADER] = str(block)
    now = hub.now() if hub.market is not None else 0
    oracle = hub.market.oracle_at_head() if hub.market else None
    held = inputs.book(read, principal.organization_id, now, oracle)
    agreed = inputs.agreements(read, principal.organization_id, {r.cash_token for r in held.repos}, now, oracle)
    results = [stress.run(held.repos, agreed, s, now) for s in scenarios_of(body)]
    decimals = inputs.decimals(read, {p.cash_token for res in results for p in res.pairs})
    answer = StressReport(
        as_of_block=block, valued_at=now, unpriced=held.unpriced, scenarios=report(results, body, decimals)
    )
    totals = [{"name": s.name, "totals": [t.model_dump() for t in s.totals]} for s in answer.scenarios]
    read.rollback()  # the read snapshot ends before the message is written
    _show(session, principal.organization_id, "risk.stress", {"valued_at": now, "scenarios": totals})
    return answer


def _held(session: Session, organization_id: uuid.UUID, exposures: dict[int, int]) -> list[history.RepoPoint]:
    """The reported repos the member holds as indexed (a repo's history is its holder's): others are not kept."""
    if not exposures:
        return []
    held = set(
        session.scalars(
            select(RepoRecord.repo_id).where(
                RepoRecord.repo_id.in_(sorted(exposures)), RepoRecord.holder_org_id == organization_id
            )
        )
    )
    return [history.RepoPoint(r, e) for r, e in sorted(exposures.items()) if r in held]


def _show(session: Session, organization_id: uuid.UUID, kind: str, data: dict[str, Any]) -> None:
    """On the member's own stream and webhooks only (a risk message; committed here)."""
    messages.record(session, organization_id=organization_id, kind=kind, body=data)
    session.commit()


@router.post("/exposure", status_code=204, response_model=None)
def show_exposure(body: ExposureSnapshot, principal: RiskAct, session: SessionDep) -> None:
    """The risk service shows a member its current exposure per counterparty, the calls due and their cure
    deadlines on the member's WebSocket stream and webhooks (as ``risk.exposure``); each pair's net exposure is
    kept for charts (``GET /v1/risk/exposure/history``, per minute, pruned after 30 days), and each repo's
    (``GET /v1/risk/repos/{id}/exposure/history``)."""
    points = [history.PairPoint(p.counterparty_id, int(p.net), p.repos) for p in body.pairs]
    repos = _held(session, principal.organization_id, {r.repo_id: int(r.exposure) for r in body.repos})
    history.record(
        session, organization_id=principal.organization_id, points=points, repos=repos, now=datetime.now(UTC)
    )
    _show(session, principal.organization_id, "risk.exposure", body.model_dump(mode="json"))
