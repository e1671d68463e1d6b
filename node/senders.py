"""Transaction senders: recovered once, from the raw RLP, and remembered on the transaction object.

py-evm recovers the sender on every ``tx.sender`` access (twice more when validating), through its sedes
encoder; at hundreds of transactions per second that was as costly as executing them.

A validator also meets each transaction several times: from a client or a peer, then in a proposal, then
perhaps in a sealed block while syncing. :func:`decode_transaction` keeps the decoded objects of recent raw
transactions, keyed by the keccak of their exact bytes (the bytes are the signed content, so a key names one
transaction and one sender), so each is decoded and its signature recovered once per node.
"""

from __future__ import annotations

from typing import cast

import rlp
from coincurve import PublicKey
from eth.abc import SignedTransactionAPI
from eth.vm.forks.london.transactions import DynamicFeeTransaction
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth_hash.auto import keccak
from rlp.codec import consume_length_prefix, length_prefix

from node.exceptions import TxRejected

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
KNOWN_LIMIT = 100_000
_SENDER_ATTR = "_reponet_sender"


def tx_type(tx: SignedTransactionAPI) -> int:
    return int(getattr(tx, "type_id", None) or 0)


def signing_message(tx: SignedTransactionAPI) -> bytes:
    """What the sender signed, rebuilt from the raw RLP items (much cheaper than py-evm's sedes encoding)."""
    message, _ = _message_and_signature(tx.encode())
    return message


def _message_and_signature(raw: bytes) -> tuple[bytes, tuple[int, int, int]]:
    """(signed message, (y parity, r, s)) of a raw transaction: legacy (EIP-155 or not) or typed (EIP-2718).

    The message is cut from the raw bytes: the signed fields are the leading items of the same RLP list, so only
    the list's length prefix is new (decoding and re-encoding the items cost more than the recovery itself).
    """
    typed = bool(raw) and raw[0] < 0x7F
    items = _list_items(raw, 1 if typed else 0)
    if len(items) < (4 if typed else 9):
        raise ValueError("too few transaction fields")
    v, r, s = (_content(raw, item) for item in items[-3:])
    if typed:
        body = raw[items[0][0] : items[-4][2]]
        return raw[:1] + length_prefix(len(body), 0xC0) + body, (v, r, s)
    if len(items) != 9:
        raise ValueError("a legacy transaction has 9 fields")
    body = raw[items[0][0] : items[5][2]]
    if v in (27, 28):
        return length_prefix(len(body), 0xC0) + body, (v - 27, r, s)
    if v < 35:
        raise ValueError("v is neither 27/28 nor EIP-155")
    chain_id, parity = divmod(v - 35, 2)
    body += bytes(rlp.encode(chain_id)) + b"\x80\x80"
    return length_prefix(len(body), 0xC0) + body, (parity, r, s)


def _list_items(data: bytes, start: int) -> list[tuple[int, int, int]]:
    """(item start, content start or -1 for a list, item end) of each item of the RLP list ``data[start:]``."""
    _, kind, length, pos = consume_length_prefix(data, start)
    end = pos + length
    if kind is not list or end != len(data):
        raise ValueError("not one RLP list")
    items = []
    while pos < end:
        _, item_kind, item_length, content = consume_length_prefix(data, pos)
        item_end = content + item_length
        items.append((pos, content if item_kind is bytes else -1, item_end))
        pos = item_end
    if pos != end:
        raise ValueError("list items overrun the list")
    return items


def _content(data: bytes, item: tuple[int, int, int]) -> int:
    if item[1] < 0:
        raise ValueError("expected an integer, got a list")
    return int.from_bytes(data[item[1] : item[2]], "big")


def sender_from_raw(raw: bytes) -> bytes:
    """The signer of raw transaction bytes: the message rebuilt from the RLP items, one secp256k1 recovery."""
    try:
        message, (parity, r, s) = _message_and_signature(raw)
    except (rlp.exceptions.RLPException, ValueError, TypeError, IndexError) as exc:
        raise TxRejected("invalid sender") from exc
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2) or parity not in (0, 1):
        raise TxRejected("invalid sender")  # EIP-2: high s values are malleable
    try:
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([parity])
        public_key = PublicKey.from_signature_and_message(signature, keccak(message), hasher=None)
    except Exception as exc:  # bad signatures come in many exception types
        raise TxRejected("invalid sender") from exc
    return bytes(keccak(public_key.format(compressed=False)[1:])[12:])


def known_sender(tx: SignedTransactionAPI) -> bytes | None:
    """The sender recovered earlier for this very object, if any."""
    known: bytes | None = getattr(tx, _SENDER_ATTR, None)
    return known


def recover_sender(tx: SignedTransactionAPI) -> bytes:
    """The signer, recovered once (py-evm's own check recovers twice and verifies again)."""
    known = known_sender(tx)
    if known is not None:
        return known
    return sender_from_raw(tx.encode())


def cache_sender(tx: SignedTransactionAPI, sender: bytes) -> None:
    """Remember the recovered sender on the object: py-evm recovers it on every access otherwise."""
    object.__setattr__(tx, _SENDER_ATTR, sender)
    object.__setattr__(tx, "get_sender", lambda: sender)
    inner = getattr(tx, "_inner", None)
    if inner is not None:
        object.__setattr__(inner, "get_sender", lambda: sender)


_DYNAMIC_FEE_TYPE = 2
_TYPED = PragueTransactionBuilder.typed_transaction


def _canonical_uint(raw: bytes, item: tuple[int, int, int]) -> int:
    _, content, end = item
    if content < 0 or (end > content and raw[content] == 0):
        raise ValueError("not a canonical integer")
    return int.from_bytes(raw[content:end], "big")


def _decode_dynamic_fee(raw: bytes) -> SignedTransactionAPI | None:
    """A type-2 transaction without an access list (what clients send), built straight from its RLP items: the
    same objects as py-evm's decoder, which goes through rlp's generic sedes and costs several times more. Anything
    else, or anything unusual, gives None and py-evm's decoder decides (and refuses what it refuses)."""
    if len(raw) < 2 or raw[0] != _DYNAMIC_FEE_TYPE:
        return None
    try:
        items = _list_items(raw, 1)
        if len(items) != 12 or items[8][1] != -1 or items[8][2] - items[8][0] != 1:
            return None  # not 12 fields, or an access list that is not empty
        to_item, data_item = items[5], items[7]
        if to_item[1] < 0 or to_item[2] - to_item[1] not in (0, 20) or data_item[1] < 0:
            return None
        chain_id, nonce, tip, max_fee, gas = (_canonical_uint(raw, item) for item in items[:5])
        value = _canonical_uint(raw, items[6])
        y_parity, r, s = (_canonical_uint(raw, item) for item in items[9:])
    except (rlp.exceptions.RLPException, ValueError, IndexError):
        return None
    inner = DynamicFeeTransaction(
        chain_id,
        nonce,
        tip,
        max_fee,
        gas,
        raw[to_item[1] : to_item[2]],
        value,
        raw[data_item[1] : data_item[2]],
        (),
        y_parity,
        r,
        s,
    )
    return cast(SignedTransactionAPI, _TYPED(_DYNAMIC_FEE_TYPE, inner))


def decode_raw(raw: bytes) -> SignedTransactionAPI:
    """py-evm's transaction decoding, with a direct path for the common type-2 transaction."""
    tx = _decode_dynamic_fee(raw)
    return tx if tx is not None else PragueTransactionBuilder.decode(raw)


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
    tx = decode_raw(raw)
    # the decoders accept canonical RLP only, so these bytes are what encode() would rebuild through rlp's sedes
    # (on every first tx.hash and encode: pool, gossip, block, store); the object keeps them instead
    object.__setattr__(tx, "encode", lambda: raw)
    try:
        cache_sender(tx, sender_from_raw(raw))
    except TxRejected:
        return tx
    _known[key] = tx
    if len(_known) > KNOWN_LIMIT:
        try:  # FIFO eviction; plain dict operations are atomic under the GIL (RPC threads decode blocks too)
            del _known[next(iter(_known))]
        except (KeyError, RuntimeError, StopIteration):
            pass
    return tx
