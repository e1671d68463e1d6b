"""Valuations read the price follower's table: the oracle's PriceUpdated and MaxAgeSet events on a real chain move
``oracle_prices``, ``indexed_price`` answers as the oracle's ``getPrice`` would (nothing once stale), and a
price the follower has not read yet is not seen (no ``getPrice`` call per request)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.indexer.prices import PriceFollower, indexed_price
from tests.e2e.chains import ChainProcess, Deployment, deploy, start_chain
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import World
from tests.gateway.market import hub_of

pytestmark = pytest.mark.slow


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    yield from start_chain("reponet-node", tmp_path)


@pytest.fixture
def deployment(chain: ChainProcess) -> Deployment:
    return deploy(chain)


@pytest.fixture
def world(deployment: Deployment, tmp_path: Path) -> Iterator[World]:
    yield from chain_world(deployment, tmp_path)


def until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "the follower did not catch up"
        time.sleep(0.1)


def test_prices_follow_the_oracle_and_go_stale_as_it_does(deployment: Deployment, world: World) -> None:
    d = deployment
    bond, cash = d.addresses["bond"], d.addresses["cash"]

    def price(now: int) -> int | None:
        with world.ctx.read_sessions() as session:
            return indexed_price(session, bond, cash, now)

    def chain_now() -> int:
        return int(d.w3.eth.get_block("latest")["timestamp"])

    assert price(chain_now()) is None  # nothing posted yet
    d.send(d.deployer, d.oracle.functions.setPrice(bond, cash, 9_800 * 10**18))
    until(lambda: price(chain_now()) == 9_800 * 10**18)
    assert price(chain_now()) == int(d.oracle.functions.getPrice(bond, cash).call()[0])

    # the pair's own maximum age: the followed price is stale exactly when getPrice would revert PriceStale
    d.send(d.deployer, d.oracle.functions.setMaxAge(bond, cash, 30))
    posted = int(d.oracle.functions.getPrice(bond, cash).call()[1])
    until(lambda: price(posted + 31) is None)
    assert price(posted + 30) == 9_800 * 10**18

    # the table, not the chain: while the follower's tick waits, a new price is not seen
    follower = hub_of(world).extra["prices"]
    assert isinstance(follower, PriceFollower)
    with follower._lock:
        d.send(d.deployer, d.oracle.functions.setPrice(bond, cash, 9_700 * 10**18))
        assert price(chain_now()) == 9_800 * 10**18
    until(lambda: price(chain_now()) == 9_700 * 10**18)
