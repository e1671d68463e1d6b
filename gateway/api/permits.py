"""Each permission named once, as the ``Annotated`` dependency that routes put in their signature: a route's
signature says what it needs (``principal: TradesRead``), and a route without one stands out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gateway.access.permissions import P
from gateway.api.deps import Principal, StepUp, require

Account = Annotated[Principal, Depends(require(P.ACCOUNT))]
OrgsRead = Annotated[Principal, Depends(require(P.ORGS_READ))]
OrgsManage = Annotated[Principal, Depends(require(P.ORGS_MANAGE))]
UsersRead = Annotated[Principal, Depends(require(P.USERS_READ))]
UsersManage = Annotated[Principal, Depends(require(P.USERS_MANAGE))]
PolicyRead = Annotated[Principal, Depends(require(P.POLICY_READ))]
PolicyManage = Annotated[Principal, Depends(require(P.POLICY_MANAGE))]
TradesRead = Annotated[Principal, Depends(require(P.TRADES_READ))]
TradesWrite = Annotated[Principal, Depends(require(P.TRADES_WRITE))]
TradesApprove = Annotated[Principal, Depends(require(P.TRADES_APPROVE))]
ReposRead = Annotated[Principal, Depends(require(P.REPOS_READ))]
EventsRead = Annotated[Principal, Depends(require(P.EVENTS_READ))]
WebhooksRead = Annotated[Principal, Depends(require(P.WEBHOOKS_READ))]
WebhooksManage = Annotated[Principal, Depends(require(P.WEBHOOKS_MANAGE))]
MarketRead = Annotated[Principal, Depends(require(P.MARKET_READ))]
MarketOperate = Annotated[Principal, Depends(require(P.MARKET_OPERATE))]
RiskAct = Annotated[Principal, Depends(require(P.RISK_ACT))]
PricesFeed = Annotated[Principal, Depends(require(P.PRICES_FEED))]
SurveillanceFeed = Annotated[Principal, Depends(require(P.SURVEILLANCE_FEED))]
SurveillanceAlert = Annotated[Principal, Depends(require(P.SURVEILLANCE_ALERT))]
MatchingRun = Annotated[Principal, Depends(require(P.MATCHING_RUN))]
CasesRead = Annotated[Principal, Depends(require(P.CASES_READ))]
CasesWork = Annotated[Principal, Depends(require(P.CASES_WORK))]


async def _trades_write_step_up(principal: TradesWrite, _: StepUp) -> Principal:
    return principal


async def _market_operate_step_up(principal: MarketOperate, _: StepUp) -> Principal:
    return principal


TradesWriteStepUp = Annotated[Principal, Depends(_trades_write_step_up)]
MarketOperateStepUp = Annotated[Principal, Depends(_market_operate_step_up)]
ReportsRead = Annotated[Principal, Depends(require(P.REPORTS_READ))]
