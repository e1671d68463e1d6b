"""BLOCKHASH's ancestor list is read from the store only when an execution asks for a hash: py-evm calls iter() on
it for every execution context, and most executions (eth_call above all) never use BLOCKHASH."""

from __future__ import annotations

from typing import Any

from node.chain import AncestorHashes


class CountingStore:
    def __init__(self) -> None:
        self.reads = 0

    def recent_hashes(self, head: int, count: int = 256) -> list[bytes]:
        self.reads += 1
        return [bytes([n % 256]) * 32 for n in range(head, max(-1, head - count), -1)]


def test_iter_does_not_read_the_store_until_a_hash_is_taken() -> None:
    store = CountingStore()
    hashes = AncestorHashes(store, 9)  # type: ignore[arg-type]
    iterator = iter(hashes)
    assert store.reads == 0
    assert next(iterator) == bytes([9]) * 32
    assert store.reads == 1


def test_hashes_are_newest_first_and_read_once() -> None:
    store = CountingStore()
    hashes = AncestorHashes(store, 3)  # type: ignore[arg-type]
    assert list(hashes) == [bytes([n]) * 32 for n in (3, 2, 1, 0)]
    assert list(hashes) == [bytes([n]) * 32 for n in (3, 2, 1, 0)]
    assert store.reads == 1


def test_an_unstored_parent_comes_first() -> None:
    store: Any = CountingStore()
    parent = b"\xab" * 32
    hashes = list(AncestorHashes(store, 300, unstored=parent))
    assert hashes[0] == parent
    assert len(hashes) == 256
    assert hashes[1] == bytes([300 % 256]) * 32
