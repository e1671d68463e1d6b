"""A gateway context without the app: a migrated SQLite database, a fake chain that answers the identity registry
and records what it was asked, and factories for members, people, custodial wallets and trades. For unit tests of
the policy engine and the custody door (no HTTP, no node)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.app import build_context
from gateway.chain.memory import InMemoryChain
from gateway.context import GatewayContext
from gateway.custody import keys as custody_keys
from gateway.db.models import KycStatus, Organization, Role, User, Wallet, WalletKind
from gateway.members import service as members
from gateway.members.schemas import OrganizationCreate
from gateway.policy.engine import Rule
from gateway.trading.models import PolicyVersion, Trade, TradeApproval
from tests.gateway.conftest import PASSWORD, lei, make_settings

CASH = "0x" + "ca" * 20
BOND = "0x" + "b0" * 20
ENGINE = "0x" + "e0" * 20


class FakeRegistry(InMemoryChain):
    """The identity registry in memory, counting ``isVerified`` questions (the door must not ask the chain when
    the database already says no, nor when the route has just asked)."""

    def __init__(self) -> None:
        super().__init__()
        self.verified_questions: list[str] = []

    def is_verified(self, wallet: str) -> bool:
        self.verified_questions.append(wallet.lower())
        return super().is_verified(wallet)


@dataclass
class Desk:
    ctx: GatewayContext
    chain: FakeRegistry

    def member(self, key: str, *, approved: bool = True) -> uuid.UUID:
        with self.ctx.sessions() as session:
            org = members.create_organization(
                session, actor="test", data=OrganizationCreate(name=f"Member {key}", lei=lei(key), jurisdiction="GB")
            )
            if approved:
                org.kyc_status = KycStatus.APPROVED.value
            session.commit()
            return org.id

    def person(self, org_id: uuid.UUID, role: Role = Role.TRADER) -> uuid.UUID:
        with self.ctx.sessions() as session:
            org = session.get(Organization, org_id)
            assert org is not None
            user: User = members.create_user(
                self.ctx,
                session,
                actor="test",
                organization=org,
                email=f"{uuid.uuid4().hex[:10]}@example.test",
                full_name="A Person",
                role=role,
                password=PASSWORD,
            )
            return user.id

    def custodial_wallet(self, org_id: uuid.UUID, *, on_chain: bool = True) -> uuid.UUID:
        """A custodial wallet with its sealed key; ``on_chain``: verified in the (fake) identity registry."""
        wallet_id = uuid.uuid4()
        with self.ctx.sessions.begin() as session:
            address, row = custody_keys.generate(self.ctx.keys, session, wallet_id=wallet_id)
            session.add(
                Wallet(
                    id=wallet_id, organization_id=org_id, address=address, kind=WalletKind.CUSTODIAL.value, label="d"
                )
            )
            session.flush()
            session.add(row)
        if on_chain:
            self.chain.register_identity(
                lei_hash=uuid.uuid4().bytes * 2,
                jurisdiction="GB",
                investor_class=1,
                kyc_expiry=int(time.time()) + 86_400,
                wallets=[address],
            )
        return wallet_id

    def policy(self, org_id: uuid.UUID, rules: list[dict[str, Any]]) -> None:
        """An active policy version (as if drafted and approved by two approvers)."""
        author = self.person(org_id, Role.APPROVER)
        with self.ctx.sessions.begin() as session:
            session.add(
                PolicyVersion(
                    id=uuid.uuid4(),
                    organization_id=org_id,
                    version=1,
                    rules=[Rule.model_validate(r).model_dump(mode="json") for r in rules],
                    status="active",
                    is_active=True,
                    created_by=author,
                )
            )

    def trade(
        self,
        *,
        seller: tuple[uuid.UUID, uuid.UUID],
        buyer: tuple[uuid.UUID, uuid.UUID],
        purchase_price: int = 1_000_000,
        tenor_seconds: int = 86_400,
        initiator: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """A trade waiting for signatures; ``seller``/``buyer``: (organization, wallet)."""
        start = int(datetime.now(UTC).timestamp())
        terms = {
            "cashToken": CASH,
            "collateralToken": BOND,
            "purchasePrice": str(purchase_price),
            "startTime": str(start),
            "maturity": "0" if tenor_seconds == 0 else str(start + tenor_seconds),
        }
        with self.ctx.sessions.begin() as session:
            trade = Trade(
                id=uuid.uuid4(),
                source="direct",
                seller_org_id=seller[0],
                buyer_org_id=buyer[0],
                seller_wallet_id=seller[1],
                buyer_wallet_id=buyer[1],
                seller_initiator=initiator,
                terms=terms,
                terms_digest="0x" + "11" * 32,
                chain_id=1337,
                engine=ENGINE,
            )
            session.add(trade)
            return trade.id

    def approve(self, trade_id: uuid.UUID, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
        with self.ctx.sessions.begin() as session:
            session.add(TradeApproval(trade_id=trade_id, organization_id=org_id, user_id=user_id))


def fresh() -> datetime:
    return datetime.now(UTC)


def stale(seconds: int) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def make_desk(tmp_path: Path, db_url: str) -> Iterator[Desk]:
    chain = FakeRegistry()
    ctx = build_context(make_settings(tmp_path, db_url), chain=chain)
    try:
        yield Desk(ctx=ctx, chain=chain)
    finally:
        ctx.engine.dispose()
        ctx.read_engine.dispose()
