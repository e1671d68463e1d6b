"""/v1/wallets: custodial wallets and SIWE registration of self-held ones."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from gateway.access.permissions import Permission
from gateway.api.deps import ContextDep, PageQuery, Principal, SessionDep, StepUp, require
from gateway.api.errors import problem_responses
from gateway.db import pages
from gateway.db.models import Organization, Wallet
from gateway.exceptions import InvalidRequest, NotFound
from gateway.settlement import registry
from gateway.settlement.hub import OptionalHubDep
from gateway.wallets import service
from gateway.wallets.schemas import (
    SiweChallengeCreate,
    SiweChallengePublic,
    SiweVerify,
    WalletCreate,
    WalletPublic,
    WalletsPublic,
)

router = APIRouter(prefix="/wallets", tags=["wallets"], responses=problem_responses(401, 403, 404, 413, 422, 429))

WalletReader = Annotated[Principal, Depends(require(Permission.WALLETS_READ))]
WalletManager = Annotated[Principal, Depends(require(Permission.WALLETS_MANAGE))]


def load_wallet(wallet_id: uuid.UUID, principal: WalletReader, session: SessionDep) -> Wallet:
    wallet = session.get(Wallet, wallet_id)
    if wallet is None or not principal.can_see(wallet.organization_id):
        raise NotFound("wallet not found")
    return wallet


WalletDep = Annotated[Wallet, Depends(load_wallet)]


def _member_org(principal: Principal, session: SessionDep) -> Organization:
    org = session.get(Organization, principal.organization_id)
    assert org is not None
    if org.is_operator:
        raise InvalidRequest("the operator holds no member wallets")
    return org


@router.post("", response_model=WalletPublic, status_code=201, responses=problem_responses(502))
def create_wallet(
    body: WalletCreate, principal: WalletManager, _: StepUp, ctx: ContextDep, session: SessionDep, hub: OptionalHubDep
) -> WalletPublic:
    """Generate a custodial wallet (step-up). An approved member's wallet joins its identity on chain: through the
    outbox (``settlement_id``; ``onchain_whitelisted`` once final) where a relayer is configured."""
    return _joined(
        service.create_custodial(
            ctx,
            session,
            actor=principal.actor,
            organization=_member_org(principal, session),
            label=body.label,
            outbox=registry.registry_outbox(hub),
        )
    )


def _joined(joined: service.Joined) -> WalletPublic:
    public = WalletPublic.model_validate(joined.wallet)
    public.settlement_id = joined.settlement.id if joined.settlement is not None else None
    return public


@router.get("", response_model=WalletsPublic, status_code=200)
def list_wallets(principal: WalletReader, session: SessionDep, page: PageQuery) -> WalletsPublic:
    query = select(Wallet)
    if not principal.is_operator:
        query = query.where(Wallet.organization_id == principal.organization_id)
    query = pages.keyset(query, page, Wallet.created_at, Wallet.id)
    rows, next_cursor = pages.finish(session.scalars(query).all(), page, lambda w: (w.created_at, w.id))
    return WalletsPublic(data=[WalletPublic.model_validate(w) for w in rows], next_cursor=next_cursor)


@router.get("/{wallet_id}", response_model=WalletPublic, status_code=200)
def get_wallet(wallet: WalletDep) -> Wallet:
    return wallet


@router.post("/siwe/challenge", response_model=SiweChallengePublic, status_code=201, responses=problem_responses(409))
def siwe_challenge(
    body: SiweChallengeCreate, principal: WalletManager, ctx: ContextDep, session: SessionDep
) -> SiweChallengePublic:
    """An EIP-4361 message for the address to sign (single use, expires in minutes)."""
    challenge = service.create_challenge(
        ctx,
        session,
        organization=_member_org(principal, session),
        user_id=principal.id,
        address=body.address,
        label=body.label,
    )
    return SiweChallengePublic(message=challenge.message, nonce=challenge.nonce, expires_at=challenge.expires_at)


@router.post("/siwe/verify", response_model=WalletPublic, status_code=201, responses=problem_responses(409, 502))
def siwe_verify(
    body: SiweVerify, principal: WalletManager, _: StepUp, ctx: ContextDep, session: SessionDep, hub: OptionalHubDep
) -> WalletPublic:
    """Register a self-held wallet from its signed challenge (step-up)."""
    return _joined(
        service.register_self_held(
            ctx,
            session,
            actor=principal.actor,
            user_id=principal.id,
            organization=_member_org(principal, session),
            message=body.message,
            signature=body.signature,
            outbox=registry.registry_outbox(hub),
        )
    )
