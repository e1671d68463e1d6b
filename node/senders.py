"""Transaction senders: recovered once, from the raw RLP, and remembered on the transaction object.

py-evm recovers the sender on every ``tx.sender`` access (twice more when validating), through its sedes
encoder; at hundreds of transactions per second that was as costly as executing them.

A validator also meets each transaction several times: from a client or a peer, then in a proposal, then
perhaps in a sealed block while syncing. :func:`decode_transaction` keeps the decoded objects of recent raw
transactions, keyed by the keccak of their exact bytes (the bytes are the signed content, so a key names one
transaction and one sender), so each is decoded and its signature recovered once per node.
"""

from __future__ import annotations

import rlp
from eth.abc import SignedTransactionAPI
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth_hash.auto import keccak
from eth_keys.datatypes import Signature

from node.exceptions import TxRejected

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
KNOWN_LIMIT = 100_000
_SENDER_ATTR = "_reponet_sender"


def tx_type(tx: SignedTransactionAPI) -> int:
    return int(getattr(tx, "type_id", None) or 0)


def signing_message(tx: SignedTransactionAPI) -> bytes:
    """What the sender signed, rebuilt from the raw RLP items (much cheaper than py-evm's sedes encoding)."""
    kind = tx_type(tx)
    if kind == 0:
        items = rlp.decode(tx.encode())
        chain_id = getattr(tx, "chain_id", None)
        if chain_id is None:
            return bytes(rlp.encode(items[:6]))
        return bytes(rlp.encode([*items[:6], chain_id, b"", b""]))
    items = rlp.decode(tx.encode()[1:])
    return bytes([kind]) + bytes(rlp.encode(items[:-3]))


def recover_sender(tx: SignedTransactionAPI) -> bytes:
    """The signer, recovered once (py-evm's own check recovers twice and verifies again)."""
    known: bytes | None = getattr(tx, _SENDER_ATTR, None)
    if known is not None:
        return known
    r, s, parity = tx.r, tx.s, tx.y_parity
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2) or parity not in (0, 1):
        raise TxRejected("invalid sender")  # EIP-2: high s values are malleable
    try:
        message_hash = keccak(signing_message(tx))
        public_key = Signature(vrs=(parity, r, s)).recover_public_key_from_msg_hash(message_hash)
    except Exception as exc:  # bad signatures come in many exception types
        raise TxRejected("invalid sender") from exc
    return bytes(public_key.to_canonical_address())


def cache_sender(tx: SignedTransactionAPI, sender: bytes) -> None:
    """Remember the recovered sender on the object: py-evm recovers it on every access otherwise."""
    object.__setattr__(tx, _SENDER_ATTR, sender)
    object.__setattr__(tx, "get_sender", lambda: sender)
    inner = getattr(tx, "_inner", None)
    if inner is not None:
        object.__setattr__(inner, "get_sender", lambda: sender)


_known: dict[bytes, SignedTransactionAPI] = {}


def decode_transaction(raw: bytes) -> SignedTransactionAPI:
    """Decode raw transaction bytes, reusing the object (sender recovered) when these exact bytes were seen.

    Raises what py-evm's decoder raises for malformed input. A transaction whose signature does not recover is
    returned without a cached sender and not remembered: whoever checks it next recovers again and refuses it.
    """
    key = keccak(raw)
    tx = _known.get(key)
    if tx is not None:
        return tx
    tx = PragueTransactionBuilder.decode(raw)
    try:
        cache_sender(tx, recover_sender(tx))
    except TxRejected:
        return tx
    _known[key] = tx
    if len(_known) > KNOWN_LIMIT:
        try:  # FIFO eviction; plain dict operations are atomic under the GIL (RPC threads decode blocks too)
            del _known[next(iter(_known))]
        except (KeyError, RuntimeError, StopIteration):
            pass
    return tx
