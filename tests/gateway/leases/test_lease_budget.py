"""Lease heartbeats are counted apart from the service key's own budget: a leader and its standby on one key
renew and poll about 180 times a minute, more than a key's 120, and a 429 on a renewal made the leader step down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.conftest import Cast, World, make_world
from tests.gateway.surveillance.test_cases import service_key


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path, db_url, rate_limit_principal="5/minute", rate_limit_lease="8/minute")


def test_heartbeats_have_their_own_budget(world: World, cast: Cast, tmp_path: Path) -> None:
    key = service_key(world, cast, tmp_path)
    beats = [
        world.client.post("/v1/leases/surveillance", json={"holder": "one"}, headers=key).status_code for _ in range(8)
    ]
    assert beats == [200] * 8  # beyond the key's 5: the lease budget counts them
    assert world.client.get("/v1/surveillance/feed", headers=key).status_code == 200  # the key's own still free
    assert world.client.post("/v1/leases/surveillance", json={"holder": "one"}, headers=key).status_code == 429
