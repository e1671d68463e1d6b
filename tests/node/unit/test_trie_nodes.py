"""node.trie_nodes: tries reading through the kept decoded nodes give py-trie's answers and roots, and a caller that
edits a node it read (py-trie does, when it writes) does not change what the next reader gets."""

from __future__ import annotations

import random

from eth.db.atomic import AtomicDB
from trie.hexary import HexaryTrie

from node.trie_nodes import NodeHexaryTrie


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
