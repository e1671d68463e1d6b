"""Chain reads kept for the block they were read at. A risk service asks ``GET /v1/risk/repos`` for each of its
members several times a second, and each answer needs every collateral token's currency from the oracle: the same
``eth_call`` twenty times a block, each a run of the EVM on the node. A read pinned to a block number cannot change,
so one answer per block serves every request that reads at that block."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class HeadMemo:
    """The reads of the block last asked about; another block drops them all (only the head is ever asked). A block
    number lower than the kept one means the chain went back (a dev chain's revert): the kept reads are dropped, so a
    block mined again under the same number is read afresh unless it is asked about with no lower number between
    (``forget`` covers that: the gateway calls it when the chain's clock jumps)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._block = -1
        self._values: dict[Hashable, object] = {}

    def get(self, block: int, key: Hashable, read: Callable[[], T]) -> T:
        """``read()`` (which must read at ``block``), or its answer kept from an earlier ask at the same block."""
        with self._lock:
            if block == self._block and key in self._values:
                return self._values[key]  # type: ignore[return-value]
        value = read()
        with self._lock:
            if block != self._block:
                self._block, self._values = block, {}
            self._values[key] = value
        return value

    def forget(self) -> None:
        with self._lock:
            self._block, self._values = -1, {}
