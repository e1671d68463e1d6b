"""The relayer wakes the indexer of its process when it sees a transaction mined: a waiting client's answer
(``/wait`` returns once the final block is indexed) does not wait for the indexer's next poll."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from gateway.indexer.service import Indexer

POLL_SECONDS = 30.0  # far longer than the test waits: only the wake can start the second tick in time


def test_a_wake_starts_the_next_tick_before_the_poll_interval() -> None:
    market: Any = SimpleNamespace(
        engine=SimpleNamespace(abi=[]), settings=SimpleNamespace(indexer_poll_seconds=POLL_SECONDS)
    )
    indexer = Indexer(market, sessions=None)  # type: ignore[arg-type]
    ticks: list[threading.Event] = [threading.Event(), threading.Event()]
    count = 0

    def run_once() -> int:
        nonlocal count
        if count < len(ticks):
            ticks[count].set()
        count += 1
        return 0  # nothing new: the loop waits for the poll interval or a wake

    indexer.run_once = run_once  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert ticks[0].wait(10)
        assert not ticks[1].wait(0.3)  # idle: no second tick before the poll interval
        indexer.wake.set()  # what the relayer's on_mined does
        assert ticks[1].wait(5)
    finally:
        stop.set()
        indexer.wake.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
