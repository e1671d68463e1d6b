"""node.trie_nodes: tries reading through the kept decoded nodes give py-trie's answers and roots, and a caller that
edits a node it read (py-trie does, when it writes) does not change what the next reader gets."""

from __future__ import annotations

import random

import pytest
import rlp
from eth.constants import BLANK_ROOT_HASH
from eth.db.atomic import AtomicDB
from eth_typing import Address, Hash32
from trie.hexary import HexaryTrie

from node import trie_nodes
from node.trie_nodes import NodeAccountStorageDB, NodeHexaryTrie, NodeStorageLookup

ADDRESS = Address(b"\x42" * 20)


def test_same_reads_and_roots_as_py_trie() -> None:
    rng = random.Random(7)
    stock, kept = HexaryTrie(AtomicDB(), prune=True), NodeHexaryTrie(AtomicDB(), prune=True)
    keys = [rng.randbytes(32) for _ in range(300)]
    for step in range(2000):
        key = rng.choice(keys)
        if rng.random() < 0.15:
            for trie in (stock, kept):
                if key in trie:
                    del trie[key]
        elif rng.random() < 0.6:
            value = rng.randbytes(rng.choice([1, 5, 33]))
            stock[key] = kept[key] = value
        else:
            assert kept.get(key) == stock.get(key), step
        assert kept.root_hash == stock.root_hash, step


def test_a_reader_editing_its_node_does_not_change_the_kept_one() -> None:
    trie = NodeHexaryTrie(AtomicDB())
    for i in range(40):
        trie[bytes([i]) * 32] = b"value" * 10
    first = trie.get_node(trie.root_hash)
    first[0] = b"edited"
    assert trie.get_node(trie.root_hash)[0] != b"edited"
    assert trie.get(bytes([3]) * 32) == b"value" * 10


def _committed_storage(db: AtomicDB, values: dict[int, int]) -> bytes:
    """An account's storage written and committed to ``db``: its root."""
    storage = NodeAccountStorageDB(db, BLANK_ROOT_HASH, ADDRESS)
    for slot, value in values.items():
        storage.set(slot, value)
    storage.make_storage_root()
    root = bytes(storage.get_changed_root())
    storage.persist(db)
    return root


def _key(slot: int) -> bytes:
    return slot.to_bytes(32, "big")


def test_a_slot_of_a_committed_root_is_walked_to_once_for_every_later_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    db = AtomicDB()
    root = _committed_storage(db, {slot: slot * 7 + 1 for slot in range(200)})
    walks: list[bytes] = []
    walk = NodeHexaryTrie.get

    def counted(trie: NodeHexaryTrie, key: bytes) -> bytes:
        walks.append(key)
        return walk(trie, key)

    monkeypatch.setattr(trie_nodes, "_slots", {})  # nothing kept from another test
    monkeypatch.setattr(NodeHexaryTrie, "get", counted)
    monkeypatch.setattr(NodeHexaryTrie, "__getitem__", counted)
    for _reader in range(3):  # three eth_calls at the same head, each with its own state
        storage = NodeAccountStorageDB(db, Hash32(root), ADDRESS)
        assert storage.get(42) == 295 and storage.get(43) == 302
    assert len(walks) == 2  # each slot walked to once


def test_kept_slots_never_answer_for_another_root_or_over_a_write() -> None:
    db = AtomicDB()
    old = _committed_storage(db, {1: 10, 2: 20})
    new = _committed_storage(db, {1: 11, 2: 20})
    for root, value in ((old, 10), (new, 11), (old, 10)):
        assert NodeAccountStorageDB(db, Hash32(root), ADDRESS).get(1) == value
    lookup = NodeStorageLookup(db, Hash32(old), ADDRESS)
    assert rlp.decode(lookup[_key(1)], sedes=rlp.sedes.big_endian_int) == 10  # kept for ``old``
    lookup[_key(1)] = rlp.encode(12)  # the block being built writes it
    assert rlp.decode(lookup[_key(1)], sedes=rlp.sedes.big_endian_int) == 12  # its own write, not the kept value
    assert NodeAccountStorageDB(db, Hash32(old), ADDRESS).get(1) == 10  # the committed root is unchanged
    lookup.new_trie()  # the account's storage cleared (self-destruct, re-creation): a blank trie
    assert lookup[_key(2)] == b""
