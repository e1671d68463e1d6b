"""GET /v1/operator/network/status without a chain: each reading is null with why, not a failure of the whole view;
operator staff only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.db.models import Role
from tests.gateway.conftest import World
from tests.gateway.market import market_world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from market_world(tmp_path, db_url)


def test_no_chain_is_said_per_reading(world: World) -> None:
    admin, trader = world.user("op", Role.OPERATOR_ADMIN, "admin"), world.user("a", Role.TRADER, "at")
    assert trader.get("/v1/operator/network/status").status_code == 403
    status = admin.get("/v1/operator/network/status")
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["head"] is None and body["validators"] is None and body["pool"] is None
    assert set(body["unavailable"]) == {"head", "validators", "peers", "pool"}
    assert "no chain" in body["unavailable"]["head"]
