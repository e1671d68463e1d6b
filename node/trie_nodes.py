"""Decoded trie nodes kept by hash, shared by every trie the node's state opens (same nodes, same roots).

py-evm decodes a trie node's RLP every time a trie reads it: each storage read walks from the root, decoding
every node on the way, and each write at the end of a block walks and decodes again. A token's storage trie is
read by every transfer of it, so the same upper nodes are decoded thousands of times a block. A node's hash names
its content, so its decoded form holds for any trie and any block: :class:`NodeHexaryTrie` keeps the last
``NODES_KEPT`` decoded nodes (about 1 KiB each at most), read or written (a node written is read back by the next
write below it), and gives each caller its own copy, because py-trie edits the nodes it reads in place when it
writes.

:class:`NodeAccountStorageDB` is py-evm's account storage on such a trie; ``node.execution.NodeAccountDB`` puts its
account trie and every account's storage on them. Its lookup also keeps slot values read from a committed storage
root (``SLOTS_KEPT`` of them): a storage root names its whole content, so (root, slot) has one value forever, and the
engine's, registry's and tokens' hot slots (an ``eth_call`` reads the same ones as the last) skip the key's hash and
the walk from the root. A lookup that has written reads its own trie, never the kept values.
"""

from __future__ import annotations

from typing import Any

from eth.abc import AtomicDatabaseAPI
from eth.db.batch import BatchDB
from eth.db.cache import CacheDB
from eth.db.journal import JournalDB
from eth.db.storage import AccountStorageDB, StorageLookup
from eth_typing import Address, Hash32
from trie.constants import BLANK_NODE_HASH
from trie.hexary import HexaryTrie
from trie.utils.nodes import decode_node

NODES_KEPT = 32_768
SLOTS_KEPT = 65_536
_decoded: dict[bytes, list[Any]] = {}
_slots: dict[tuple[bytes, bytes], bytes] = {}  # (committed storage root, slot key) -> the slot's RLP value


def _copy(node: list[Any]) -> list[Any]:
    return [_copy(item) if isinstance(item, list) else item for item in node]


def _decoded_form(node: list[Any]) -> list[Any] | None:
    """A copy of ``node`` as decoding its RLP would give it (lists of bytes), or None if it holds anything else."""
    out: list[Any] = []
    for item in node:
        if type(item) is bytes:
            out.append(item)
        elif type(item) is list:
            inner = _decoded_form(item)
            if inner is None:
                return None
            out.append(inner)
        else:
            return None
    return out


def _keep(node_hash: bytes, node: list[Any]) -> None:
    if len(_decoded) >= NODES_KEPT:
        _decoded.clear()
    _decoded[node_hash] = node


class NodeHexaryTrie(HexaryTrie):
    """py-trie's hexary trie whose nodes read by hash are decoded once (see the module docstring)."""

    def get_node(self, node_hash: Any) -> Any:
        if not isinstance(node_hash, bytes) or len(node_hash) != 32 or node_hash == BLANK_NODE_HASH:
            return super().get_node(node_hash)  # type: ignore[no-untyped-call]
        kept = _decoded.get(node_hash)
        if kept is None:
            node = decode_node(self.db[node_hash])  # a missing node raises here, as in py-trie
            if not isinstance(node, list):
                return node
            _keep(node_hash, node)
            kept = node
        return _copy(kept)

    def _persist_node(self, node: Any) -> Any:
        # py-trie's, and the node just written is kept: the next write to the same part of the trie reads it back
        key, value = self._node_to_db_mapping(node)  # type: ignore[no-untyped-call]
        if value is not None:
            self._set_db_value(key, value)  # type: ignore[no-untyped-call]
            kept = _decoded_form(node) if isinstance(node, list) else None
            if kept is not None:
                _keep(key, kept)
        return key


class NodeStorageLookup(StorageLookup):
    """py-evm's storage lookup on :class:`NodeHexaryTrie`, its reads of the committed root kept (module docstring)."""

    def __getitem__(self, key: bytes) -> bytes:
        if self._write_trie is not None:  # written since the root: the write trie answers
            return super().__getitem__(key)
        slot = (bytes(self._starting_root_hash), bytes(key))
        value = _slots.get(slot)
        if value is None:
            value = super().__getitem__(key)  # a missing trie node raises here, as in py-evm, and nothing is kept
            if len(_slots) >= SLOTS_KEPT:
                _slots.clear()
            _slots[slot] = value
        return value

    def _get_write_trie(self) -> HexaryTrie:
        if self._trie_nodes_batch is None:
            self._trie_nodes_batch = BatchDB(self._db, read_through_deletes=True)
        if self._write_trie is None:
            self._write_trie = NodeHexaryTrie(self._trie_nodes_batch, root_hash=self._starting_root_hash, prune=True)
        return self._write_trie

    def _get_read_trie(self) -> HexaryTrie:
        if self._write_trie is not None:
            return self._write_trie
        return NodeHexaryTrie(self._db, root_hash=self._starting_root_hash)


class NodeAccountStorageDB(AccountStorageDB):
    """py-evm's account storage whose lookup is :class:`NodeStorageLookup` (the layers above it rebuilt on it, as
    py-evm's constructor builds them)."""

    def __init__(self, db: AtomicDatabaseAPI, storage_root: Hash32, address: Address) -> None:
        super().__init__(db, storage_root, address)
        self._storage_lookup = NodeStorageLookup(db, storage_root, address)
        self._storage_cache = CacheDB(self._storage_lookup)
        self._locked_changes = JournalDB(self._storage_cache)
        self._journal_storage = JournalDB(self._locked_changes)
