"""``/v1/leases/{risk,price-feed,surveillance}``: a service instance acquires or renews its kind's lease (POST, 200
with the fencing token; 409 while another instance holds it) and releases it on shutdown (DELETE). Each kind's
routes take that service's machine-key permission, and the lease is its organization's."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from gateway.api.deps import Principal, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import PricesFeed, RiskAct, SurveillanceAlert
from gateway.leases import service
from gateway.leases.models import LeaseKind
from gateway.leases.schemas import LeasePublic, LeaseRequest

router = APIRouter(prefix="/leases", tags=["leases"], responses=problem_responses(401, 403, 409, 422, 429))

LeaseToken = Annotated[
    int | None, Header(alias="X-Lease-Token", description="the service's fencing token (from /v1/leases)")
]


def _acquire(kind: LeaseKind, body: LeaseRequest, principal: Principal, session: SessionDep) -> LeasePublic:
    held = service.acquire(session, kind, principal.organization_id, body.holder, body.ttl_seconds)
    session.commit()
    return LeasePublic(kind=held.kind.value, holder=held.holder, token=held.token, ttl_seconds=held.ttl_seconds)


def _release(kind: LeaseKind, holder: str, principal: Principal, session: SessionDep) -> Response:
    service.release(session, kind, principal.organization_id, holder)
    session.commit()
    return Response(status_code=204)


def _pair(kind: LeaseKind, permit: Any) -> tuple[Callable[..., LeasePublic], Callable[..., Response]]:
    def acquire(body: LeaseRequest, principal: permit, session: SessionDep) -> LeasePublic:
        return _acquire(kind, body, principal, session)

    def release(principal: permit, session: SessionDep, holder: str = Query(max_length=200)) -> Response:
        return _release(kind, holder, principal, session)

    acquire.__doc__ = f"Acquire or renew the {kind.value} lease (compare-and-set): 200 with the token, 409 if held."
    release.__doc__ = f"Release the {kind.value} lease if this holder holds it (a standby takes over at once)."
    return acquire, release


for _kind, _permit in (
    (LeaseKind.RISK, RiskAct),
    (LeaseKind.PRICE_FEED, PricesFeed),
    (LeaseKind.SURVEILLANCE, SurveillanceAlert),
):
    _acquire_route, _release_route = _pair(_kind, _permit)
    _name = _kind.value.replace("-", "_")
    router.post(f"/{_kind.value}", response_model=LeasePublic, status_code=200, name=f"acquire_{_name}_lease")(
        _acquire_route
    )
    router.delete(f"/{_kind.value}", status_code=204, response_class=Response, name=f"release_{_name}_lease")(
        _release_route
    )
