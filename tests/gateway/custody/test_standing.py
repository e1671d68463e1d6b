"""Consent under a standing instruction (the risk service's ``auto`` close-out and excess return): recorded only for
a person of the wallet's own member who is still active, and then exactly the step named is signed."""

from __future__ import annotations

import uuid

import pytest

from gateway.custody import door
from gateway.custody.exceptions import NotTheMembersPerson
from gateway.db.models import Role, User, Wallet
from gateway.settlement_records.steps import StepSpec
from tests.gateway.conftest import World
from tests.gateway.custody.test_door import TOKEN, _queued, _sign
from tests.gateway.market import approve_member, custodial_wallet


def _standing(world: World, wallet_id: uuid.UUID, user_id: uuid.UUID) -> StepSpec:
    with world.ctx.sessions() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        spec = StepSpec(
            label="close_out", to=TOKEN, data="0x" + "ab" * 36, sender=wallet.address, sender_wallet_id=wallet.id
        )
        [consented] = door.authorize_standing(
            world.ctx,
            session,
            wallet=wallet,
            consenting_user=user_id,
            instruction_subject="risk-instruction/test",
            specs=[spec],
            chain_checked=wallet.address,
        )
        session.commit()
        return consented


def test_a_standing_consent_needs_an_active_person_of_the_wallets_member(world: World) -> None:
    trader = world.user("a", Role.TRADER, "at")
    wallet_id = uuid.UUID(custodial_wallet(trader)["id"])
    approve_member(world, "a")
    stranger = world.user("b", Role.MEMBER_ADMIN, "bad")
    with pytest.raises(NotTheMembersPerson):
        _standing(world, wallet_id, stranger.id)

    approver = world.user("a", Role.MEMBER_ADMIN, "aad")
    consented = _standing(world, wallet_id, approver.id)
    assert consented.consent_id is not None
    assert _sign(world, _queued(world, consented))

    with world.ctx.sessions.begin() as session:  # the approver leaves: the instruction's consent goes with them
        person = session.get(User, approver.id)
        assert person is not None
        person.is_active = False
    with pytest.raises(NotTheMembersPerson):
        _standing(world, wallet_id, approver.id)
