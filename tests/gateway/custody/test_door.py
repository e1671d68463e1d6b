"""The custody door: the only code that opens a custodial key, and it signs nothing without a consent of the
wallet's own member that covers exactly what is signed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_utils.address import to_checksum_address

from gateway.custody import door
from gateway.custody.exceptions import ConsentMissing, NotTheMembersPerson
from gateway.custody.kyc import verified_before_writing
from gateway.db.models import Role, Wallet
from gateway.exceptions import StepUpRequired
from gateway.settlement_records.models import ChainStep, Settlement
from gateway.settlement_records.steps import StepSpec
from tests.gateway.conftest import World
from tests.gateway.market import approve_member, call, custodial_wallet, list_instrument, step_up

GATEWAY = Path(__file__).resolve().parents[3] / "gateway"
TOKEN = to_checksum_address("0x" + "ca" * 20)


def _sources() -> dict[str, str]:
    return {str(p.relative_to(GATEWAY)): p.read_text() for p in GATEWAY.rglob("*.py")}


def test_only_the_custody_door_opens_a_custodial_key() -> None:
    sources = _sources()
    assert not [name for name, text in sources.items() if "signer_for" in text]
    openers = sorted(name for name, text in sources.items() if "unseal_account" in text)
    assert openers == ["custody/door.py", "custody/keys.py"]
    # the sealed rows are read by custody (to sign) and by key rotation (to rewrap, never to sign) only
    readers = sorted(
        name
        for name, text in sources.items()
        if re.search(r"\bWalletKey\b", text)
        and name not in ("db/models.py", "migrations/versions/0001_initial_schema.py")
    )
    assert readers == ["custody/keys.py", "key_rotation.py"]


def _person(world: World, org: str, *, fresh: bool = True) -> door.Person:
    role = Role.OPERATOR_ADMIN if org == "op" else Role.TRADER
    user = world.user(org, role, f"p{uuid.uuid4().hex[:6]}")
    return door.Person(
        user_id=user.id,
        organization_id=world.orgs[org],
        actor=f"user:{user.id}",
        mfa_at=datetime.now(UTC) if fresh else None,
    )


def _queued(world: World, spec: StepSpec) -> uuid.UUID:
    with world.ctx.sessions.begin() as session:
        settlement = Settlement(id=uuid.uuid4(), kind="test", requested_by="test")
        session.add(settlement)
        session.flush()
        step = ChainStep(
            settlement_id=settlement.id,
            seq=0,
            label=spec.label,
            sender=spec.sender,
            sender_wallet_id=spec.sender_wallet_id,
            consent_id=spec.consent_id,
            to=spec.to,
            data=spec.data,
            gas=100_000,
        )
        session.add(step)
        session.flush()
        return step.id


def _sign(world: World, step_id: uuid.UUID) -> bytes:
    with world.ctx.sessions() as session:
        step = session.get(ChainStep, step_id)
        assert step is not None
        signed = door.sign_step(world.ctx.keys, session, step=step, nonce=0, gas_price=0, chain_id=31337)
        return bytes(signed.raw_transaction)


def test_a_custodial_step_is_signed_only_with_the_members_consent_to_exactly_it(world: World) -> None:
    trader = world.user("a", Role.TRADER, "at")
    wallet_id = uuid.UUID(custodial_wallet(trader)["id"])
    approve_member(world, "a")
    with world.ctx.sessions() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        session.expunge(wallet)
    spec = StepSpec(
        label="approve", to=TOKEN, data="0x095ea7b3" + "00" * 64, sender=wallet.address, sender_wallet_id=wallet.id
    )

    no_consent = _queued(world, spec)  # what the relayer signed for any caller before the door
    with pytest.raises(ConsentMissing):
        _sign(world, no_consent)

    person = _person(world, "a")
    with world.ctx.read_sessions() as read:
        seen = read.get(Wallet, wallet_id)
        assert seen is not None
        checked = verified_before_writing(world.ctx, read, seen)
    with world.ctx.sessions() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        [consented] = door.authorize_steps(
            world.ctx, session, person=person, wallet=wallet, specs=[spec], chain_checked=checked
        )
        session.commit()
    assert consented.consent_id is not None
    assert _sign(world, _queued(world, consented))  # exactly what was consented to: signed

    altered = StepSpec(**{**consented.__dict__, "data": "0x095ea7b3" + "11" * 64})  # same consent, other calldata
    with pytest.raises(ConsentMissing):
        _sign(world, _queued(world, altered))


def test_only_a_fresh_person_of_the_wallets_own_member_consents(world: World) -> None:
    trader = world.user("a", Role.TRADER, "at")
    wallet_id = uuid.UUID(custodial_wallet(trader)["id"])
    approve_member(world, "a")
    operator_person = _person(world, "op")
    stale = _person(world, "a", fresh=False)
    with world.ctx.sessions() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        spec = StepSpec(label="x", to=TOKEN, data="0x", sender=wallet.address, sender_wallet_id=wallet.id)
        with pytest.raises(NotTheMembersPerson):
            door.authorize_steps(
                world.ctx, session, person=operator_person, wallet=wallet, specs=[spec], chain_checked=wallet.address
            )
        with pytest.raises(StepUpRequired):
            door.authorize_steps(
                world.ctx, session, person=stale, wallet=wallet, specs=[spec], chain_checked=wallet.address
            )


def test_the_operator_has_no_route_that_moves_a_members_cash(world: World) -> None:
    admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
    trader = world.user("a", Role.TRADER, "at")
    wallet = custodial_wallet(trader)
    body = {"token": TOKEN, "wallet": wallet["address"], "amount": "12345"}
    assert admin.post("/v1/operator/cash/redeem", json=body).status_code in (404, 405)
    paths = world.client.get("/openapi.json").json()["paths"]
    assert "/v1/redemptions" in paths and "/v1/operator/redemptions/{redemption_id}/execute" in paths
    # a redemption is asked by a person of the wallet's own member, never by another member or the operator
    list_instrument(world, TOKEN, "cash", 6, "EURD")
    request = {"wallet_id": wallet["id"], "token": TOKEN, "amount": "12345"}
    for outsider in (world.user("b", Role.TRADER, "bt"), world.user("op", Role.OPERATOR_ADMIN, "admin2")):
        step_up(outsider)
        assert call(outsider, "/v1/redemptions", request).status_code in (403, 404)
