"""GET /v1/operator/keys: the master keys' versions and the count of secrets sealed under each, with the last
rotation and retirement from the audit chain — operator staff only, counts only (no key material, no owner)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import key_rotation as rotation
from gateway.db.models import Role
from tests.gateway.conftest import World
from tests.gateway.market import custodial_wallet, market_world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from market_world(tmp_path, db_url)


def test_versions_and_sealed_counts_follow_a_rotation(world: World) -> None:
    admin, trader = world.user("op", Role.OPERATOR_ADMIN, "admin"), world.user("a", Role.TRADER, "at")
    custodial_wallet(trader)
    assert trader.get("/v1/operator/keys").status_code == 403
    before = admin.get("/v1/operator/keys")
    assert before.status_code == 200, before.text
    body = before.json()
    first = body["current_version"]
    assert body["versions"] == [first] and body["min_version"] <= first
    [sealed] = body["sealed"]
    assert sealed["version"] == first and sealed["secrets"] >= 3  # two TOTP secrets and a wallet key at least
    assert body["last_rotation"] is None and body["last_retirement"] is None

    with world.ctx.sessions() as session:
        rotation.rotate(world.ctx.keys, session, retire=True, actor="system:test")
    after = admin.get("/v1/operator/keys").json()
    assert after["current_version"] == first + 1 and after["min_version"] == first + 1
    assert after["versions"] == [first + 1]
    assert after["sealed"] == [{"version": first + 1, "secrets": sealed["secrets"]}]
    assert after["last_rotation"]["version"] == first + 1 and after["last_rotation"]["actor"] == "system:test"
    assert after["last_retirement"]["version"] == first + 1
    fields = {"versions", "current_version", "min_version", "sealed", "last_rotation", "last_retirement"}
    assert set(after) == fields  # counts and versions only
