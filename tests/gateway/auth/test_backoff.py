"""Sign-in backoff per account and per address instead of a lockout, and the same answers whether an email exists
or not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from gateway.auth.models import LoginThrottle
from gateway.db.models import Role
from tests.gateway.conftest import PASSWORD, Member, World, make_world

FREE_ACCOUNT, FREE_ADDRESS = 3, 8
BASE_WAIT = 10  # long enough that no wait ends on its own while a test runs on a busy machine: _wait_over ends them


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from make_world(
        tmp_path,
        db_url,
        login_free_failures_per_account=FREE_ACCOUNT,
        login_free_failures_per_address=FREE_ADDRESS,
        login_backoff_base_seconds=BASE_WAIT,
        login_backoff_max_account_seconds=60,
    )


def _from(world: World, ip: str) -> TestClient:
    """Another client of the same gateway, connecting from ``ip``."""
    return TestClient(world.client.app, base_url="https://gateway.test", client=(ip, 40000))


def _attempt(client: TestClient, email: str, password: str, code: str = "000000") -> tuple[int, str, str | None]:
    response = client.post("/v1/auth/login", json={"email": email, "password": password, "totp_code": code})
    body: dict[str, Any] = response.json()
    return response.status_code, str(body.get("detail")), response.headers.get("retry-after")


def _wait_over(world: World) -> None:
    """Time passing, without sleeping: every wait ends now."""
    with world.ctx.sessions.begin() as session:
        session.execute(update(LoginThrottle).values(blocked_until=datetime.now(UTC) - timedelta(seconds=1)))


def test_unknown_emails_and_wrong_passwords_get_the_same_answers(world: World) -> None:
    member = world.user("a", Role.VIEWER, "known")
    known = [_attempt(_from(world, "198.51.100.1"), member.user.email, "wrong password") for _ in range(6)]
    unknown = [_attempt(_from(world, "198.51.100.2"), "nobody@a.example", "wrong password") for _ in range(6)]
    assert known == unknown
    assert [status for status, _, _ in known] == [401] * (FREE_ACCOUNT + 1) + [429, 429]
    # A wrong code after the right password answers the same too.
    other = world.user("a", Role.VIEWER, "coded")
    coded = [_attempt(_from(world, "198.51.100.3"), other.user.email, PASSWORD) for _ in range(6)]
    assert coded == known


def test_an_account_backs_off_and_never_locks(world: World) -> None:
    member: Member = world.user("a", Role.VIEWER, "target")
    waits = []
    for i in range(12):
        attacker = _from(world, f"203.0.113.{i}")  # a new address each time: only the account's wait applies
        _wait_over(world)  # the attacker tries again whenever the wait is over
        assert _attempt(attacker, member.user.email, "guess")[0] == 401
        status, _, retry_after = _attempt(attacker, member.user.email, "guess")  # at once: refused while waiting
        if status == 429:
            waits.append(int(retry_after or 0))
        else:
            assert status == 401  # no wait yet: a counted failure like the first
    # Doubling (the first wait seen is the second, twice the base), capped at a minute; Retry-After rounds up what
    # is left, and a second or so may have passed.
    assert [round(wait / BASE_WAIT) for wait in waits[:3]] == [2, 4, 6] and waits[-1] in (59, 60)
    # The owner, from their own address, is slowed down too, but gets in as soon as the wait is over.
    owner = _from(world, "192.0.2.10")
    assert _attempt(owner, member.user.email, PASSWORD, member.totp_now())[0] == 429
    _wait_over(world)
    assert _attempt(owner, member.user.email, PASSWORD, member.totp_now())[0] == 200


def test_an_address_backs_off_across_accounts(world: World) -> None:
    sprayer, other = _from(world, "203.0.113.99"), _from(world, "198.51.100.77")
    statuses = [_attempt(sprayer, f"user{i}@a.example", "Winter2026!")[0] for i in range(FREE_ADDRESS + 2)]
    assert statuses == [401] * (FREE_ADDRESS + 1) + [429]
    member = world.user("b", Role.VIEWER, "elsewhere")
    assert _attempt(sprayer, member.user.email, PASSWORD, member.totp_now())[0] == 429
    assert _attempt(other, member.user.email, PASSWORD, member.totp_now())[0] == 200


def test_wrong_step_up_codes_back_off(world: World) -> None:
    member = world.user("a", Role.APPROVER, "stepper")
    statuses = [member.post("/v1/auth/step-up", json={"totp_code": "000000"}).status_code for _ in range(5)]
    assert statuses == [401] * (FREE_ACCOUNT + 1) + [429]


def test_failures_against_a_known_account_are_audited_anonymous_ones_are_not(world: World) -> None:
    from gateway.db.models import AuditEntry
    from gateway.surveillance import feed

    member = world.user("a", Role.VIEWER, "audited")
    known = [_attempt(_from(world, "198.51.100.7"), member.user.email, "wrong password") for _ in range(2)]
    unknown = [_attempt(_from(world, "198.51.100.8"), "nobody@a.example", "wrong password") for _ in range(2)]
    assert known == unknown  # the audit entry changes nothing the caller sees
    coded = _attempt(_from(world, "198.51.100.9"), member.user.email, PASSWORD, "000000")  # right password, bad code
    assert coded[0] == 401
    with world.ctx.sessions() as session:
        failed = session.query(AuditEntry).filter(AuditEntry.action == "auth.login_failed").all()
        assert [(e.object_type, e.object_id, e.actor) for e in failed] == [
            ("user", str(member.user.id), "anonymous")
        ] * 3
        items = [i for i in feed.items(session, after=0, limit=500) if i.action == "auth.login_failed"]
    assert {i.organization_id for i in items} == {str(member.user.organization_id)}
