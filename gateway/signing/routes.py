"""/v1/trades/{trade_id}: a trade's signing steps over HTTP — an approver's yes for its side (the policy's quorum)
or no (the trade is cancelled), the custodial wallet's signature through the custody door, a self-held wallet's
signature. Beside the service they call (``gateway.signing.service``), above trading, whose routes hold the rest of
/v1/trades."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Body
from sqlalchemy.orm import Session

from gateway.api.deps import ContextDep, Principal, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.custody import door
from gateway.policy import rejections
from gateway.policy import service as policy
from gateway.policy.schemas import RejectionCreate
from gateway.settlement.hub import HubDep
from gateway.signing import service as signing
from gateway.trading import records, views
from gateway.trading.announce import Announcer
from gateway.trading.announcer_dep import AnnouncerDep
from gateway.trading.deps import Approver, Trader, TraderStepUp
from gateway.trading.exceptions import ApprovalRequired, TermsChanged
from gateway.trading.models import Trade
from gateway.trading.schemas import DecisionPublic, SignatureSubmit, SignRequest, SignResult, TradePublic

router = APIRouter(tags=["trading"], responses=problem_responses(401, 403, 404, 409, 413, 422, 429))


def _policy(decision: dict[str, object]) -> DecisionPublic:
    return DecisionPublic.model_validate(decision)


def _view(read: Session, session: Session, trade_id: uuid.UUID, principal: Principal) -> TradePublic:
    return views.trade_view_after_commit(
        read, session, trade_id=trade_id, organization_id=principal.organization_id, is_operator=principal.is_operator
    )


@contextmanager
def _asking_approvers(session: Session, announce: Announcer, trade: Trade, side: str) -> Iterator[None]:
    """A signature the policy holds back tells the organization's approvers (``approval.requested`` on their
    stream): their queue shows it without polling. The refusal itself still reaches the signer."""
    try:
        yield
    except ApprovalRequired as exc:
        session.rollback()
        announce.approval_requested(trade, side, exc.extra.get("policy"))
        raise


def _as_read(trade: Trade, asked: SignRequest | None) -> None:
    """The terms are the ones the signer read, when it says which (``digest``)."""
    if asked is not None and asked.digest is not None and asked.digest.lower() != trade.terms_digest.lower():
        raise TermsChanged(f"the trade's terms are now {trade.terms_digest}, not {asked.digest}: read them again")


@router.post("/trades/{trade_id}/sign", response_model=SignResult, status_code=200)
def sign_trade(
    trade_id: uuid.UUID,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    announce: AnnouncerDep,
    asked: Annotated[SignRequest | None, Body()] = None,
) -> SignResult:
    """The gateway signs the terms with the organization's custodial wallet (KYC, policy, fresh step-up); with
    ``digest``, only if those are still the terms (409 ``terms-changed`` otherwise)."""
    seen = records.load_trade(read, trade_id=trade_id, organization_id=principal.organization_id, is_operator=False)
    _as_read(seen, asked)
    side = records.side_of(seen, principal.organization_id)
    try:
        checked = signing.check_before_writing(ctx, read, seen, side, hub)
    except door.REFUSALS as exc:  # the wallet or member not verified: a refusal, audited as the door's own
        wallet_id = seen.seller_wallet_id if side == "seller" else seen.buyer_wallet_id
        read.rollback()
        door.refused(session, person=door.Person.of(principal), wallet_id=wallet_id, subject=f"trade/{trade_id}",
                     refusal=exc)  # fmt: skip
        raise
    read.rollback()
    trade = records.load_trade(session, trade_id=trade_id, organization_id=principal.organization_id, is_operator=False)
    _as_read(trade, asked)  # again in the write transaction: what is signed below
    side = records.side_of(trade, principal.organization_id)
    with _asking_approvers(session, announce, trade, side):
        decision = signing.sign_custodial(
            ctx,
            session,
            hub,
            person=door.Person.of(principal),
            trade=trade,
            side=side,
            chain_checked=checked.wallet,
            approvals=checked.approvals,
        )
    return SignResult(trade=_view(read, session, trade_id, principal), policy=_policy(decision.as_dict()))


@router.post("/trades/{trade_id}/signature", response_model=SignResult, status_code=200)
def submit_signature(
    trade_id: uuid.UUID,
    body: SignatureSubmit,
    principal: Trader,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    announce: AnnouncerDep,
) -> SignResult:
    """A self-held wallet's signature of the typed data (EOA, or ERC-1271 smart wallet): checked against the chain
    in the read session, then stored in the write transaction if the trade has not changed meanwhile."""
    seen = records.load_trade(read, trade_id=trade_id, organization_id=principal.organization_id, is_operator=False)
    checked = signing.check_signature_before_writing(
        ctx, read, hub, trade=seen, side=records.side_of(seen, principal.organization_id), signature=body.signature
    )
    read.rollback()
    trade = records.load_trade(session, trade_id=trade_id, organization_id=principal.organization_id, is_operator=False)
    side = records.side_of(trade, principal.organization_id)
    with _asking_approvers(session, announce, trade, side):
        decision = signing.submit_signature(
            session,
            hub,
            actor=principal.actor,
            trade=trade,
            side=side,
            signature=body.signature,
            checked=checked,
            signer=principal.id,
        )
    return SignResult(trade=_view(read, session, trade_id, principal), policy=_policy(decision.as_dict()))


@router.post("/trades/{trade_id}/approvals", response_model=TradePublic, status_code=201)
def approve_trade(trade_id: uuid.UUID, principal: Approver, session: SessionDep, announce: AnnouncerDep) -> TradePublic:
    """An approver's yes for the organization's side; never the trade's initiator."""
    trade = records.load_trade(session, trade_id=trade_id, organization_id=principal.organization_id, is_operator=False)
    side = records.side_of(trade, principal.organization_id)
    policy.approve_trade(
        session,
        actor=principal.actor,
        user_id=principal.id,
        organization_id=principal.organization_id,
        trade=trade,
        side=side,
    )
    announce.trade_approved(trade, side)
    return views.trade_public(session, trade)


@router.post("/trades/{trade_id}/rejections", response_model=TradePublic, status_code=201)
def reject_trade(
    trade_id: uuid.UUID, body: RejectionCreate, principal: Approver, session: SessionDep, announce: AnnouncerDep
) -> TradePublic:
    """An approver's no for the organization's side, with its reason: the trade is cancelled for both parties.
    Only while this side has not signed; any approver may say no, the initiator included (four eyes guard a yes)."""
    trade = records.load_trade(session, trade_id=trade_id, organization_id=principal.organization_id, is_operator=False)
    side = records.side_of(trade, principal.organization_id)
    rejections.reject_trade(
        session,
        actor=principal.actor,
        user_id=principal.id,
        organization_id=principal.organization_id,
        trade=trade,
        side=side,
        reason=body.reason,
    )
    announce.trade_rejected(trade, side, body.reason)
    return views.trade_public(session, trade)
