"""A gateway with trading and settlement installed: the hub (EIP-712 domain, optional chain, relayer, indexer)
is set before the app starts, members are KYC-approved straight in the registry, instruments are listed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from web3 import Web3

from gateway.app import build_context, create_app
from gateway.chain.base import ChainClient
from gateway.chain.memory import InMemoryChain
from gateway.db.models import KycStatus, Organization, Wallet
from gateway.screening.sanctions import SanctionsList
from gateway.settlement.hub import Hub
from gateway.trading.models import Instrument
from tests.gateway.conftest import SANCTIONS_CSV, Member, World, make_settings

ENGINE = "0x" + "e1" * 20
CASH = "0x" + "ca" * 20
BOND = "0x" + "b0" * 20


def market_world(
    tmp_path: Path, db_url: str, *, chain: ChainClient | None = None, hub: Hub | None = None, **overrides: Any
) -> Iterator[World]:
    settings = make_settings(tmp_path, db_url, **overrides)
    sanctions_file = tmp_path / "sanctions.csv"
    sanctions_file.write_text(SANCTIONS_CSV)
    chain = chain or InMemoryChain()
    ctx = build_context(settings, chain=chain, sanctions=SanctionsList.from_csv(sanctions_file))
    app = create_app(settings, context=ctx)
    app.state.hub = hub or Hub(chain_id=settings.chain_id, engine=ENGINE)
    with TestClient(app, base_url="https://gateway.test") as client:
        world = World(ctx=ctx, client=client, chain=chain)  # type: ignore[arg-type]
        world.org("op", name="RepoNet Operator", is_operator=True)
        world.org("a", name="Bank A")
        world.org("b", name="Fund B")
        yield world


def hub_of(world: World) -> Hub:
    hub = world.client.app.state.hub  # type: ignore[attr-defined]
    assert isinstance(hub, Hub)
    return hub


def approve_member(world: World, org_key: str) -> None:
    """KYC approval as the compliance flow ends: identity on chain with the member's wallets (the chain written
    between database transactions, never inside one)."""
    with world.ctx.read_sessions() as session:
        org = session.get(Organization, world.orgs[org_key])
        assert org is not None
        identity, lei = org.onchain_identity_id, org.lei
        pending = [
            (w.id, w.address)
            for w in session.scalars(select(Wallet).where(Wallet.organization_id == org.id))
            if not w.onchain_whitelisted
        ]
    if identity is not None:  # already approved: whitelist its new wallets
        for _, address in pending:
            world.ctx.chain.add_wallet(identity_id=identity, wallet=address)
    else:
        identity = world.ctx.chain.register_identity(
            lei_hash=Web3.keccak(text=lei),
            jurisdiction="GB",
            investor_class=1,
            kyc_expiry=int((datetime.now(UTC) + timedelta(days=365)).timestamp()),
            wallets=[address for _, address in pending],
        )
    with world.ctx.sessions.begin() as session:
        org = session.get(Organization, world.orgs[org_key])
        assert org is not None
        if org.onchain_identity_id is None:
            org.kyc_status = KycStatus.APPROVED.value
            org.onchain_identity_id = identity
            org.kyc_expiry = datetime.now(UTC) + timedelta(days=365)
        for wallet_id, _ in pending:
            wallet = session.get(Wallet, wallet_id)
            assert wallet is not None
            wallet.onchain_whitelisted = True


def list_instrument(world: World, address: str, kind: str, decimals: int, symbol: str) -> None:
    with world.ctx.sessions.begin() as session:
        session.add(Instrument(address=address.lower(), kind=kind, symbol=symbol, name=symbol, decimals=decimals))


def custodial_wallet(member: Member, label: str = "desk") -> dict[str, Any]:
    response = member.post("/v1/wallets", json={"label": label})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def step_up(member: Member) -> None:
    response = member.post("/v1/auth/step-up", json={"totp_code": member.totp_now()})
    assert response.status_code == 200, response.text


def idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def call(member: Member, path: str, json: Any = None) -> Any:
    """POST with a fresh Idempotency-Key, as a careful client always sends."""
    return member.client.post(path, json=json, headers={**member.headers, **idem()})


def register_self_held(member: Member, address: str, key: Any, label: str) -> dict[str, Any]:
    """SIWE registration of ``address`` as a self-held wallet, with ``key``'s EIP-191 signature of the challenge
    (``key`` is the address's own key, or a smart wallet owner's)."""
    from eth_account.messages import encode_defunct

    challenge = call(member, "/v1/wallets/siwe/challenge", json={"address": address, "label": label})
    assert challenge.status_code == 201, challenge.text
    message = challenge.json()["message"]
    signature = "0x" + bytes(key.sign_message(encode_defunct(text=message)).signature).hex()
    step_up(member)
    registered = call(member, "/v1/wallets/siwe/verify", json={"message": message, "signature": signature})
    assert registered.status_code == 201, registered.text
    body: dict[str, Any] = registered.json()
    return body
