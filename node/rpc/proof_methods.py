"""``eth_getProof`` (EIP-1186): an account and some of its storage slots with the Merkle-Patricia proofs that tie
them to a block's ``stateRoot``, so a light client, a bridge or an auditor can check a balance without trusting
the node.

The proofs are the trie nodes on the path to each key (keccak of the address, keccak of the 32-byte slot), read
with the ``trie`` library from the state database, which keeps every block's nodes: any stored block can be
proven. A key that is absent gets a proof of absence (the path up to where it diverges).
"""

from __future__ import annotations

from typing import Any

import rlp
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
from eth.rlp.accounts import Account
from eth_utils.crypto import keccak
from rlp.sedes import big_endian_int
from trie.hexary import HexaryTrie

from node.exceptions import InvalidParams
from node.rpc import params as p
from node.rpc.base import MethodsBase
from node.rpc.formatting import a, d, q
from node.rpc.registry import rpc_method

MAX_PROOF_SLOTS = 1_000


def trie_proof(db: Any, root: bytes, key: bytes) -> list[bytes]:
    """The RLP of each node on ``key``'s path from ``root``; nodes under 32 bytes live inside their parent."""
    if root == BLANK_ROOT_HASH:
        return []
    nodes = HexaryTrie(db, root).get_proof(key)  # type: ignore[no-untyped-call]
    encoded = [rlp.encode(node) for node in nodes]
    return [node for i, node in enumerate(encoded) if i == 0 or len(node) >= 32]


def _slot(value: Any) -> bytes:
    if not isinstance(value, str):
        raise InvalidParams("invalid argument 1: storage key expected")
    digits = value[2:] if value.startswith(("0x", "0X")) else value
    raw = p.data("0x" + ("0" if len(digits) % 2 else "") + digits, "storage key")  # geth takes "0x0" too
    if len(raw) > 32:
        raise InvalidParams(f"invalid argument 1: storage key too long: {value[:80]}")
    return raw.rjust(32, b"\x00")


class ProofMethods(MethodsBase):
    @rpc_method("eth_getProof", blocking=True)
    def eth_get_proof(self, address: Any, slots: Any, block: Any = "latest") -> dict[str, Any]:
        addr = p.address(address)
        if not isinstance(slots, list):
            raise InvalidParams("invalid argument 1: list of storage keys expected")
        if len(slots) > MAX_PROOF_SLOTS:
            raise InvalidParams(f"invalid argument 1: at most {MAX_PROOF_SLOTS} storage keys")
        keys = [(raw, _slot(raw)) for raw in slots]
        header = self.node.chain.head if p.block_ref(block).tag == "pending" else self._state_header(block)
        db = self.node.chain.store.state_db()
        account_key = keccak(addr)
        encoded = HexaryTrie(db, header.state_root).get(account_key)
        account = rlp.decode(encoded, sedes=Account) if encoded else Account(0, 0, BLANK_ROOT_HASH, EMPTY_SHA3)
        storage = []
        for raw, slot in keys:
            slot_key = keccak(slot)
            value = b""
            if account.storage_root != BLANK_ROOT_HASH:
                value = HexaryTrie(db, account.storage_root).get(slot_key)
            storage.append(
                {
                    "key": raw,
                    "value": q(rlp.decode(value, sedes=big_endian_int) if value else 0),
                    "proof": [d(node) for node in trie_proof(db, account.storage_root, slot_key)],
                }
            )
        return {
            "address": a(addr),
            "accountProof": [d(node) for node in trie_proof(db, header.state_root, account_key)],
            "balance": q(account.balance),
            "codeHash": d(account.code_hash),
            "nonce": q(account.nonce),
            "storageHash": d(account.storage_root),
            "storageProof": storage,
        }
