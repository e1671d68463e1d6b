"""Fixtures: a gateway on a fresh database (SQLite file; PostgreSQL where a test asks for ``any_db_url``),
an in-memory chain, and factories for the operator, two member organizations and their users."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gateway.app import build_context, create_app
from gateway.chain import guard
from gateway.chain.memory import InMemoryChain
from gateway.config import Settings
from gateway.context import GatewayContext
from gateway.db.migrate import upgrade
from gateway.db.models import Role, User
from gateway.keys.envelope import unseal_small
from gateway.members import service as members
from gateway.members.schemas import OrganizationCreate
from gateway.members.validation import lei_with_check_digits
from gateway.screening.sanctions import SanctionsList


@pytest.fixture(autouse=True)
def no_chain_call_in_write_transaction() -> Iterator[None]:
    """Every gateway test runs with the seam's guard on: a JSON-RPC call (or a call of the in-memory chain) made
    while the calling thread holds an open database write transaction raises (gateway.chain.guard). There is no
    way to turn it off for a test: a path that needs it off is a path to fix."""
    with guard.enforced(True):
        yield


PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "correct horse battery staple"
SANCTIONS_CSV = """id,name,aliases,program,country
SDN-1,Ivan Badactor,Ivan Bad Actor;I. Badactor,TEST,RU
SDN-2,Evil Shipping Ltd,Evil Shipping Company,TEST,KP
"""


def lei(seed: str) -> str:
    return lei_with_check_digits((seed.upper() + "0" * 18)[:18])


def postgres_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or a fresh schema in PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gateway.db'}"
        upgrade(url)
        yield url
        return
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (database 'test', user postgres)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    return url


def make_settings(tmp_path: Path, db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "jwt_secret": "t" * 48,
        "database_url": db_url,
        "data_dir": tmp_path / "data",
        "master_key_file": tmp_path / "data" / "master-keys.json",
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 1024,
        "argon2_parallelism": 1,
        "rate_limit_ip": "10000/minute",
        "rate_limit_principal": "10000/minute",
        "rate_limit_login": "10000/minute",
        "siwe_domain": "gateway.test",
        "public_origin": "https://gateway.test",
        "anchor_interval_seconds": 0,  # tests that want periodic anchoring ask for it
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Member:
    user: User
    client: TestClient
    world: World
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    def totp_now(self) -> str:
        """A valid code, after forgetting the last step used (tests log in many times a step)."""
        with self.world.ctx.sessions.begin() as session:
            user = session.get(User, self.user.id)
            assert user is not None and user.totp_secret_enc is not None
            user.totp_last_step = 0
            secret = unseal_small(self.world.ctx.keys, owner=f"user-totp/{user.id}", blob=user.totp_secret_enc)
        return pyotp.TOTP(secret.decode()).now()

    def login(self) -> dict[str, str]:
        response = self.client.post(
            "/v1/auth/login", json={"email": self.user.email, "password": PASSWORD, "totp_code": self.totp_now()}
        )
        assert response.status_code == 200, response.text
        self.tokens = response.json()
        return self.tokens

    @property
    def headers(self) -> dict[str, str]:
        if not self.tokens:
            self.login()
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers, **kw)


@dataclass
class World:
    ctx: GatewayContext
    client: TestClient
    chain: InMemoryChain
    orgs: dict[str, uuid.UUID] = field(default_factory=dict)

    def org(self, key: str, *, name: str, is_operator: bool = False) -> uuid.UUID:
        with self.ctx.sessions() as session:
            org = members.create_organization(
                session,
                actor="test",
                is_operator=is_operator,
                data=OrganizationCreate(name=name, lei=lei(key + "LEI"), jurisdiction="GB"),
            )
        self.orgs[key] = org.id
        return org.id

    def lei_of(self, key: str) -> str:
        return lei(key + "LEI")

    def user(self, org_key: str, role: Role, name: str) -> Member:
        with self.ctx.sessions() as session:
            from gateway.db.models import Organization

            org = session.get(Organization, self.orgs[org_key])
            assert org is not None
            user = members.create_user(
                self.ctx,
                session,
                actor="test",
                organization=org,
                email=f"{name}@{org_key}.example",
                full_name=name,
                role=role,
                password=PASSWORD,
            )
        enrollment = self.client.post("/v1/auth/enroll", json={"email": user.email, "password": PASSWORD})
        assert enrollment.status_code == 200, enrollment.text
        secret = enrollment.json()["totp_secret"]
        confirm = self.client.post(
            "/v1/auth/enroll/confirm",
            json={"email": user.email, "password": PASSWORD, "totp_code": pyotp.TOTP(secret).now()},
        )
        assert confirm.status_code == 200, confirm.text
        member = Member(user=user, client=self.client, world=self)
        member.tokens = confirm.json()
        return member


def make_world(tmp_path: Path, db_url: str, chain: Any = None, **overrides: Any) -> Iterator[World]:
    """A gateway with three organizations (operator, A, B); ``chain`` defaults to an in-memory registry."""
    settings = make_settings(tmp_path, db_url, **overrides)
    sanctions_file = tmp_path / "sanctions.csv"
    sanctions_file.write_text(SANCTIONS_CSV)
    chain = chain or InMemoryChain()
    ctx = build_context(settings, chain=chain, sanctions=SanctionsList.from_csv(sanctions_file))
    app = create_app(settings, context=ctx)
    with TestClient(app, base_url="https://gateway.test") as client:
        world = World(ctx=ctx, client=client, chain=chain)
        world.org("op", name="RepoNet Operator", is_operator=True)
        world.org("a", name="Bank A")
        world.org("b", name="Fund B")
        yield world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path, db_url)


@dataclass
class Cast:
    """The people of most tests: operator staff and two members with every role (each member's administrator
    is set up here directly; ``tests/gateway/members`` shows the invitation that makes one)."""

    admin: Member
    officer1: Member
    officer2: Member
    a_admin: Member
    a_approver: Member
    a_trader: Member
    a_viewer: Member
    b_admin: Member
    b_approver: Member
    b_trader: Member
    b_viewer: Member


@pytest.fixture
def cast(world: World) -> Cast:
    return Cast(
        admin=world.user("op", Role.OPERATOR_ADMIN, "admin"),
        officer1=world.user("op", Role.COMPLIANCE_OFFICER, "officer1"),
        officer2=world.user("op", Role.COMPLIANCE_OFFICER, "officer2"),
        a_admin=world.user("a", Role.MEMBER_ADMIN, "admin"),
        a_approver=world.user("a", Role.APPROVER, "approver"),
        a_trader=world.user("a", Role.TRADER, "trader"),
        a_viewer=world.user("a", Role.VIEWER, "viewer"),
        b_admin=world.user("b", Role.MEMBER_ADMIN, "admin"),
        b_approver=world.user("b", Role.APPROVER, "approver"),
        b_trader=world.user("b", Role.TRADER, "trader"),
        b_viewer=world.user("b", Role.VIEWER, "viewer"),
    )


def application_body(world: World, org_key: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_name": {"a": "Bank A plc", "b": "Fund B LLC"}.get(org_key, "Member"),
        "lei": world.lei_of(org_key),
        "jurisdiction": "GB",
        "registered_address": "1 Example Street, London",
        "investor_class": 1,
        "beneficial_owners": [{"name": "Jane Doe", "ownership_percent": 30, "nationality": "GB"}],
        "documents": [{"kind": "certificate_of_incorporation", "sha256": "ab" * 32}],
    }
    body.update(overrides)
    return body
