"""Transfer of a repo's position (the engine's ERC-721): the holder gives it to another verified wallet, which the
engine then pays at repurchase and which may call margin. The indexer follows the transfer (``PositionTransferred``)
and the repo's holder in ``/v1/repos`` and ``/v1/positions`` moves with it."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from gateway.addresses import Address
from gateway.api.deps import ContextDep, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.chain.bindings.engine import RepoStatus
from gateway.custody import door
from gateway.custody.kyc import require_verified
from gateway.db import audit_log
from gateway.db.models import Wallet, WalletKind
from gateway.exceptions import NotFound
from gateway.settlement import service
from gateway.settlement.hub import HubDep
from gateway.settlement.routes.repos import load_repo
from gateway.settlement.schemas import RepoIdPath, Submission
from gateway.settlement.views import submission
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.trading.deps import TraderStepUp
from gateway.trading.exceptions import StepWouldRevert

router = APIRouter(tags=["settlement"], responses=problem_responses(401, 403, 404, 409, 413, 422, 429))
KIND = "position_transfer"


class PositionTransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_wallet: Address


@router.post("/repos/{repo_id}/position-transfer", response_model=Submission, status_code=202)
def transfer_position(
    repo_id: RepoIdPath,
    body: PositionTransferCreate,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> Submission:
    """The holder's wallet transfers the position: a custodial one through the custody door (KYC, fresh step-up,
    consent recorded, audited), a self-held one gets the unsigned transaction. The registry and the token's own
    verdict (the receiver must be verified) are asked in the read session, before the write transaction."""
    repo, _, holder = load_repo(read, hub, repo_id, principal)
    wallet = service.require(holder, "position holder")
    service.require_status(repo, RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)
    require_verified(ctx, read, wallet)
    market = hub.require_market()
    position = market.position
    data = market.encode(position, "transferFrom", wallet.address, body.to_wallet, repo_id)
    reason = market.revert_reason(sender=wallet.address, to=position.address, data=data)
    if reason is not None:
        raise StepWouldRevert(f"{KIND} would revert: {reason}")
    if wallet.kind != WalletKind.CUSTODIAL.value:
        return submission(
            session, service.Submitted(None, {"from": wallet.address, "to": position.address, "data": data})
        )
    read.rollback()
    written = session.get(Wallet, wallet.id)
    if written is None or written.address != wallet.address or written.kind != wallet.kind:
        raise NotFound("wallet not found")
    person = door.Person.of(principal)
    spec = StepSpec(label=KIND, to=position.address, data=data, sender=written.address, sender_wallet_id=written.id)
    steps = door.authorize_steps(
        ctx, session, person=person, wallet=written, specs=[spec], chain_checked=wallet.address
    )
    settlement = enqueue(
        session,
        kind=KIND,
        requested_by=principal.actor,
        steps=steps,
        repo_id=repo_id,
        organization_id=principal.organization_id,
    )
    audit_log.append(
        session,
        actor=principal.actor,
        action=f"repo.{KIND}",
        object_type="repo",
        object_id=str(repo_id),
        change={"settlement": str(settlement.id), "to": body.to_wallet},
    )
    session.commit()
    hub.notify()
    return submission(session, service.Submitted(settlement, None))
