"""KYC approval, freeze, unfreeze, revoke and wallet whitelisting write the chain with no database write
transaction open: another writer gets the database while the registry's transaction is on its way (on SQLite a
write transaction holds the write lock, and a receipt can take seconds). These fail when the chain is written
inside the request's transaction (they did: approval and freeze waited up to 30 s for receipts holding the lock)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.chain import guard
from gateway.chain.memory import InMemoryChain
from gateway.context import GatewayContext
from gateway.db import audit_log
from gateway.db.models import Role
from tests.gateway.conftest import Member, World, application_body, make_world

WITNESS_SECONDS = 3.0


class WitnessChain(InMemoryChain):
    """The in-memory registry that, on every write, has another thread write to the database and notes whether
    it could (it cannot while the caller holds the write lock)."""

    def __init__(self) -> None:
        super().__init__()
        self.ctx: GatewayContext | None = None
        self.writes: list[tuple[str, bool]] = []  # (call, another writer got through meanwhile)

    def _witness(self, call: str) -> None:
        assert self.ctx is not None
        ctx = self.ctx
        done = threading.Event()

        def write() -> None:
            with ctx.sessions() as session:
                audit_log.append(
                    session, actor="test", action="test.witness", object_type="test", object_id=call, change={}
                )
                session.commit()
            done.set()

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        self.writes.append((call, done.wait(WITNESS_SECONDS)))

    def register_identity(
        self, *, lei_hash: bytes, jurisdiction: str, investor_class: int, kyc_expiry: int, wallets: list[str]
    ) -> int:
        self._witness("registerIdentity")
        return super().register_identity(
            lei_hash=lei_hash,
            jurisdiction=jurisdiction,
            investor_class=investor_class,
            kyc_expiry=kyc_expiry,
            wallets=wallets,
        )

    def add_wallet(self, *, identity_id: int, wallet: str) -> None:
        self._witness("addWallet")
        super().add_wallet(identity_id=identity_id, wallet=wallet)

    def freeze_identity(self, *, identity_id: int) -> None:
        self._witness("freezeIdentity")
        super().freeze_identity(identity_id=identity_id)

    def unfreeze_identity(self, *, identity_id: int) -> None:
        self._witness("unfreezeIdentity")
        super().unfreeze_identity(identity_id=identity_id)

    def revoke_identity(self, *, identity_id: int) -> None:
        self._witness("revokeIdentity")
        super().revoke_identity(identity_id=identity_id)


@pytest.fixture
def witnessed(tmp_path: Path, db_url: str) -> Iterator[World]:
    chain = WitnessChain()
    for world in make_world(tmp_path, db_url, chain=chain):
        chain.ctx = world.ctx
        with guard.enforced(False):  # the witness decides here, not the guard
            yield world


@dataclass
class People:
    officer1: Member
    a_approver: Member


@pytest.fixture
def people(witnessed: World) -> People:
    return People(
        officer1=witnessed.user("op", Role.COMPLIANCE_OFFICER, "officer1"),
        a_approver=witnessed.user("a", Role.APPROVER, "approver"),
    )


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": uuid.uuid4().hex}  # the held session commits only with the answer


def test_kyc_and_member_actions_leave_the_database_to_other_writers_while_the_chain_is_written(
    witnessed: World, people: People
) -> None:
    world, cast = witnessed, people
    chain = world.chain
    assert isinstance(chain, WitnessChain)
    client = world.client
    client.post("/v1/wallets", json={"label": "before"}, headers=keyed(cast.a_approver.headers))
    application = client.post(
        "/v1/kyc/applications", json=application_body(world, "a"), headers=keyed(cast.a_approver.headers)
    ).json()
    approved = client.post(
        f"/v1/kyc/applications/{application['id']}/decision",
        json={"approve": True},
        headers=keyed(cast.officer1.headers),
    )
    assert approved.status_code == 200, approved.text
    after = client.post("/v1/wallets", json={"label": "after"}, headers=keyed(cast.a_approver.headers))
    assert after.status_code == 201 and after.json()["onchain_whitelisted"], after.text
    org_path = f"/v1/organizations/{world.orgs['a']}/kyc"
    for action in ("freeze", "unfreeze", "revoke"):
        answer = client.post(f"{org_path}/{action}", json={"reason": "test"}, headers=keyed(cast.officer1.headers))
        assert answer.status_code == 200, answer.text
    calls = [call for call, _ in chain.writes]
    assert calls[0] == "registerIdentity"  # (the in-memory registry adds its wallets one by one: more addWallet)
    assert calls[-4:] == ["addWallet", "freezeIdentity", "unfreezeIdentity", "revokeIdentity"]
    blocked = [call for call, through in chain.writes if not through]
    assert blocked == [], f"the database's write lock was held across {blocked}"
