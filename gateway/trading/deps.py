"""Who may trade: people of member organizations in trading roles; approvers approve; anyone of the org reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gateway.api.deps import CurrentPrincipal, Principal, StepUp
from gateway.db.models import Role
from gateway.exceptions import PermissionDenied

TRADING_ROLES = frozenset({Role.TRADER, Role.APPROVER})


def _trader(principal: Principal) -> Principal:
    if principal.kind != "user" or principal.role not in TRADING_ROLES:
        raise PermissionDenied("trading needs a trader or approver")
    return principal


async def require_trader(principal: CurrentPrincipal) -> Principal:
    return _trader(principal)


async def require_trader_step_up(principal: StepUp) -> Principal:
    return _trader(principal)


async def require_approver(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "user" or principal.role is not Role.APPROVER:
        raise PermissionDenied("this needs an approver")
    return principal


async def require_operator_admin(principal: StepUp) -> Principal:
    if principal.role is not Role.OPERATOR_ADMIN or not principal.is_operator:
        raise PermissionDenied("operator administrators only")
    return principal


Trader = Annotated[Principal, Depends(require_trader)]
TraderStepUp = Annotated[Principal, Depends(require_trader_step_up)]
Approver = Annotated[Principal, Depends(require_approver)]
OperatorAdmin = Annotated[Principal, Depends(require_operator_admin)]
