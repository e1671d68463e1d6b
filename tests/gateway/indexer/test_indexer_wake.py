"""The loops that wait for new blocks (indexer, balance and price followers) start their next tick when woken, not
at their poll: the relayer wakes the indexer of its process when it sees a transaction mined (a waiting client's
``/wait`` returns once the final block is indexed), and each head the node pushes wakes them all
(``gateway.workers.follow_heads``), which then poll only once a second."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.chain.heads import Head
from gateway.indexer.balances import BalanceFollower
from gateway.indexer.prices import PriceFollower
from gateway.indexer.service import Indexer
from gateway.settlement.hub import Hub
from gateway.workers import block_wakes, follow_heads, wake_all

POLL_SECONDS = 30.0  # far longer than the test waits: only the wake can start the second tick in time


def _market() -> Any:
    return SimpleNamespace(
        engine=SimpleNamespace(abi=[]),
        heads=None,
        settings=SimpleNamespace(
            indexer_poll_seconds=POLL_SECONDS, chain_rpc_url="http://127.0.0.1:9", chain_rpc_token=None
        ),
    )


LOOPS = {
    "indexer": lambda market: Indexer(market, sessions=None),
    "balances": lambda market: BalanceFollower(market, sessions=None),
    "prices": lambda market: PriceFollower(market, sessions=None),
}


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_a_wake_starts_the_next_tick_before_the_poll_interval(name: str) -> None:
    loop = LOOPS[name](_market())
    ticks: list[threading.Event] = [threading.Event(), threading.Event()]
    count = 0

    def run_once() -> int:
        nonlocal count
        if count < len(ticks):
            ticks[count].set()
        count += 1
        return 0  # nothing new: the loop waits for the poll interval or a wake

    loop.run_once = run_once
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert ticks[0].wait(10)
        assert not ticks[1].wait(0.3)  # idle: no second tick before the poll interval
        loop.wake.set()  # what the relayer's on_mined, or a pushed head, does
        assert ticks[1].wait(5)
    finally:
        stop.set()
        loop.wake.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_each_pushed_head_wakes_every_loop_waiting_for_blocks_and_shutdown_wakes_them_too() -> None:
    market = _market()
    hub = Hub(chain_id=1337, engine=None, bus=None)
    hub.market = market
    hub.relayer = SimpleNamespace(wake=threading.Event())  # type: ignore[assignment]
    for name, make in LOOPS.items():
        hub.extra[name] = make(market)
    wakes = block_wakes(hub)
    assert len(wakes) == 4  # the relayer, the indexer and both followers
    stop = threading.Event()
    stop.set()  # the watcher's thread ends at once: only its listeners are under test
    for thread in follow_heads(hub, stop):
        thread.join(timeout=10)
    assert market.heads is not None
    for listener in market.heads.listeners:
        listener(Head(number=7, timestamp=0, seen_at=0.0))
    assert all(wake.is_set() for wake in wakes)
    for wake in wakes:
        wake.clear()
    wake_all(hub)
    assert all(wake.is_set() for wake in wakes)
