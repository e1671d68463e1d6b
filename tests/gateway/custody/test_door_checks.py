"""The custody door's checks one by one (gateway/custody/door.py, kyc.py), on a context without the app and a fake
identity registry: no signature without the member's KYC (in the database and on chain), the member's policy
(limits, quorum without the signer), a fresh step-up of the member's own person, and a consent that covers it.
A refused signature records no consent and never opens the key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from sqlalchemy import func, select

from gateway.custody import door
from gateway.custody import keys as custody_keys
from gateway.custody.exceptions import ConsentMissing, NotTheMembersPerson
from gateway.custody.kyc import require_verified, verified_before_writing
from gateway.custody.models import Consent
from gateway.db.models import KycStatus, Organization, Role, Wallet, WalletKind
from gateway.exceptions import InvalidRequest, StepUpRequired, WriteTransactionOpen
from gateway.settlement_records.models import ChainStep, Settlement
from gateway.settlement_records.steps import StepSpec
from gateway.trading.exceptions import ApprovalRequired, PolicyBlocked, WalletNotVerified
from gateway.trading.models import Trade
from tests.gateway.units import Desk, fresh, make_desk, stale

TOKEN = to_checksum_address("0x" + "ca" * 20)
APPROVE = "0x095ea7b3" + "00" * 64


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[Desk]:
    yield from make_desk(tmp_path, db_url)


@pytest.fixture
def sealed_keys(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """Records every key the door opens (a refusal must open none)."""
    opened: list[uuid.UUID] = []
    real = custody_keys.unseal_account

    def spy(keys: Any, session: Any, wallet: Wallet) -> Any:
        opened.append(wallet.id)
        return real(keys, session, wallet)

    monkeypatch.setattr(custody_keys, "unseal_account", spy)
    return opened


def _person(desk: Desk, org_id: uuid.UUID, *, mfa_at: Any = None, role: Role = Role.TRADER) -> door.Person:
    user_id = desk.person(org_id, role)
    return door.Person(user_id=user_id, organization_id=org_id, actor=f"user:{user_id}", mfa_at=mfa_at or fresh())


def _consents(desk: Desk) -> int:
    with desk.ctx.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Consent)) or 0)


def _authorize(desk: Desk, person: door.Person, wallet_id: uuid.UUID, data: str = APPROVE) -> StepSpec:
    """As a route does it: the registry asked in a read session, then the consent in the write transaction."""
    with desk.ctx.read_sessions() as read:
        seen = read.get(Wallet, wallet_id)
        assert seen is not None
        checked = verified_before_writing(desk.ctx, read, seen)
    with desk.ctx.sessions() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        spec = StepSpec(label="approve", to=TOKEN, data=data, sender=wallet.address, sender_wallet_id=wallet.id)
        [consented] = door.authorize_steps(
            desk.ctx, session, person=person, wallet=wallet, specs=[spec], chain_checked=checked
        )
        session.commit()
        return consented


def _queue(desk: Desk, spec: StepSpec) -> uuid.UUID:
    with desk.ctx.sessions.begin() as session:
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


def _sign(desk: Desk, step_id: uuid.UUID) -> str:
    """The relayer's signature of a queued step; the sender it recovers to."""
    with desk.ctx.sessions() as session:
        step = session.get(ChainStep, step_id)
        assert step is not None
        signed = door.sign_step(desk.ctx.keys, session, step=step, nonce=0, gas_price=0, chain_id=1337)
    return str(Account.recover_transaction(signed.raw_transaction))


# ------------------------------------------------------------------------------------------------------------ KYC
def test_no_consent_for_a_member_whose_kyc_is_not_approved_and_no_chain_call(
    desk: Desk, sealed_keys: list[uuid.UUID]
) -> None:
    org = desk.member("A", approved=False)
    wallet = desk.custodial_wallet(org)
    with pytest.raises(WalletNotVerified, match="KYC status is none"):
        _authorize(desk, _person(desk, org), wallet)
    assert desk.chain.verified_questions == []  # the database said no: the chain is not asked
    assert _consents(desk) == 0 and sealed_keys == []


def test_no_consent_for_a_wallet_the_registry_does_not_verify(desk: Desk) -> None:
    org = desk.member("A")
    wallet = desk.custodial_wallet(org, on_chain=False)
    with pytest.raises(WalletNotVerified, match="not verified in the identity registry"):
        _authorize(desk, _person(desk, org), wallet)
    assert len(desk.chain.verified_questions) == 1
    assert _consents(desk) == 0


def test_the_registry_is_not_asked_twice_for_the_address_a_route_has_just_checked(desk: Desk) -> None:
    org = desk.member("A")
    wallet_id = desk.custodial_wallet(org, on_chain=False)
    with desk.ctx.read_sessions() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        require_verified(desk.ctx, session, wallet, chain_checked=wallet.address.lower())
        assert desk.chain.verified_questions == []
        with pytest.raises(WalletNotVerified):  # another address's check does not count for this one
            require_verified(desk.ctx, session, wallet, chain_checked="0x" + "00" * 20)


def test_consent_in_the_write_transaction_asks_the_chain_nothing(desk: Desk) -> None:
    """The registry's verdict comes from before the write transaction; inside it the door reads only the database.
    A caller that did not ask first (another address's verdict) would make the chain call inside the write
    transaction, and the guard (on in these tests) refuses it."""
    org = desk.member("A")
    wallet_id = desk.custodial_wallet(org)
    person = _person(desk, org)
    asked = len(desk.chain.verified_questions)
    assert _authorize(desk, person, wallet_id).consent_id is not None
    assert len(desk.chain.verified_questions) == asked + 1  # once, in the read session
    with desk.ctx.sessions() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        spec = StepSpec(label="approve", to=TOKEN, data=APPROVE, sender=wallet.address, sender_wallet_id=wallet.id)
        with pytest.raises(WriteTransactionOpen):
            door.authorize_steps(
                desk.ctx, session, person=person, wallet=wallet, specs=[spec], chain_checked="0x" + "00" * 20
            )
    assert _consents(desk) == 1


def test_a_consented_step_is_not_signed_once_the_members_kyc_is_withdrawn(
    desk: Desk, sealed_keys: list[uuid.UUID]
) -> None:
    org = desk.member("A")
    wallet = desk.custodial_wallet(org)
    step = _queue(desk, _authorize(desk, _person(desk, org), wallet))
    with desk.ctx.sessions.begin() as session:
        member = session.get(Organization, org)
        assert member is not None
        member.kyc_status = KycStatus.FROZEN.value
    with pytest.raises(WalletNotVerified):
        _sign(desk, step)
    assert sealed_keys == []


# ------------------------------------------------------------------------------------------------ the person
def test_step_up_must_be_fresh(desk: Desk) -> None:
    org = desk.member("A")
    wallet = desk.custodial_wallet(org)
    window = desk.ctx.settings.step_up_seconds
    with pytest.raises(StepUpRequired):
        _authorize(desk, _person(desk, org, mfa_at=stale(window + 5)), wallet)
    assert _consents(desk) == 0
    assert _authorize(desk, _person(desk, org, mfa_at=stale(max(window - 30, 0))), wallet).consent_id is not None


def test_only_the_wallets_own_member_consents(desk: Desk) -> None:
    a, b = desk.member("A"), desk.member("B")
    wallet = desk.custodial_wallet(a)
    with pytest.raises(NotTheMembersPerson):
        _authorize(desk, _person(desk, b, role=Role.MEMBER_ADMIN), wallet)
    assert _consents(desk) == 0


def test_a_self_held_wallet_is_never_signed_by_the_door(desk: Desk) -> None:
    org = desk.member("A")
    wallet_id = desk.custodial_wallet(org)
    with desk.ctx.sessions.begin() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        wallet.kind = WalletKind.SELF_HELD.value
    with pytest.raises(InvalidRequest):
        _authorize(desk, _person(desk, org), wallet_id)


# ------------------------------------------------------------------------------------------------- consent
def test_a_step_is_signed_only_under_a_consent_to_exactly_it(desk: Desk, sealed_keys: list[uuid.UUID]) -> None:
    org = desk.member("A")
    wallet_id = desk.custodial_wallet(org)
    consented = _authorize(desk, _person(desk, org), wallet_id)
    with desk.ctx.sessions() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        address = wallet.address
    with pytest.raises(ConsentMissing):
        _sign(desk, _queue(desk, StepSpec(**{**consented.__dict__, "consent_id": None})))
    with pytest.raises(ConsentMissing):  # the same consent, other calldata
        _sign(desk, _queue(desk, StepSpec(**{**consented.__dict__, "data": "0x095ea7b3" + "11" * 64})))
    with pytest.raises(ConsentMissing):  # the same consent, another target
        _sign(desk, _queue(desk, StepSpec(**{**consented.__dict__, "to": to_checksum_address("0x" + "cb" * 20)})))
    assert sealed_keys == []
    assert _sign(desk, _queue(desk, consented)) == address
    assert sealed_keys == [wallet_id]


def test_transactions_follow_only_from_consented_terms(desk: Desk) -> None:
    org = desk.member("A")
    wallet_id = desk.custodial_wallet(org)
    with desk.ctx.sessions() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        spec = StepSpec(label="approve", to=TOKEN, data=APPROVE, sender=wallet.address, sender_wallet_id=wallet.id)
        with pytest.raises(ConsentMissing):
            door.follow_from(session, wallet=wallet, subject=f"trade/{uuid.uuid4()}", specs=[spec])


# -------------------------------------------------------------------------------------------------- policy
def _terms_signature(desk: Desk, person: door.Person, trade_id: uuid.UUID, side: str) -> tuple[str, Any]:
    with desk.ctx.read_sessions() as read:
        seen = read.get(Trade, trade_id)
        assert seen is not None
        wallet = read.get(Wallet, seen.seller_wallet_id if side == "seller" else seen.buyer_wallet_id)
        assert wallet is not None
        checked = verified_before_writing(desk.ctx, read, wallet)
    with desk.ctx.sessions() as session:
        trade = session.get(Trade, trade_id)
        assert trade is not None
        return door.sign_terms(desk.ctx, session, person=person, trade=trade, side=side, chain_checked=checked)


def test_terms_beyond_the_members_limit_are_not_signed(desk: Desk, sealed_keys: list[uuid.UUID]) -> None:
    a, b = desk.member("A"), desk.member("B")
    seller, buyer = (a, desk.custodial_wallet(a)), (b, desk.custodial_wallet(b))
    desk.policy(a, [{"name": "cap", "when": {"notional_over": "100"}, "action": "block"}])
    trade = desk.trade(seller=seller, buyer=buyer, purchase_price=1_000)
    with pytest.raises(PolicyBlocked, match="cap"):
        _terms_signature(desk, _person(desk, a), trade, "seller")
    assert _consents(desk) == 0 and sealed_keys == []


def test_terms_wait_for_the_quorum_of_approvers_other_than_the_signer(desk: Desk, sealed_keys: list[uuid.UUID]) -> None:
    a, b = desk.member("A"), desk.member("B")
    seller, buyer = (a, desk.custodial_wallet(a)), (b, desk.custodial_wallet(b))
    desk.policy(b, [{"name": "one", "action": "require_approvals", "approvals": 1}])
    trade = desk.trade(seller=seller, buyer=buyer)
    signer = _person(desk, b, role=Role.APPROVER)
    desk.approve(trade, b, signer.user_id)  # approving what one then signs alone is not four eyes
    with pytest.raises(ApprovalRequired):
        _terms_signature(desk, signer, trade, "buyer")
    assert _consents(desk) == 0 and sealed_keys == []
