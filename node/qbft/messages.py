"""QBFT messages as Besu encodes them: a signed payload ``RLP[payload, signature]`` per message, codes 0x12-0x15.

- PROPOSAL     ``RLP[signed(RLP[height, round, block]), [signed ROUND_CHANGE payloads], [signed PREPAREs]]``
- PREPARE      ``signed(RLP[height, round, digest])``
- COMMIT       ``signed(RLP[height, round, digest, committed seal])``
- ROUND_CHANGE ``RLP[signed(RLP[height, round, prepared round | "", prepared digest | ""]), block | "", [PREPAREs]]``

The signature is a secp256k1 signature (``r || s || v``, 65 bytes) by the author's validator key over
``keccak(code || RLP(payload))``; the author is recovered from it, never taken from the message. ``block`` is
``RLP[header, transactions]`` with the header in its committed-seal-free form; its hash is the digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import rlp
from eth.abc import SignedTransactionAPI
from eth_hash.auto import keccak
from eth_keys.datatypes import PrivateKey, Signature
from rlp.sedes import big_endian_int

from node.exceptions import NodeError
from node.headers import QbftHeader, decode_header, encode_header
from node.storage import decode_txs, encode_txs

PROPOSAL = 0x12
PREPARE = 0x13
COMMIT = 0x14
ROUND_CHANGE = 0x15
CODES = {PROPOSAL: "PROPOSAL", PREPARE: "PREPARE", COMMIT: "COMMIT", ROUND_CHANGE: "ROUND_CHANGE"}


class BadMessage(NodeError):
    """A consensus message that does not decode or whose signature does not recover."""


def _uint(value: Any) -> int:
    if not isinstance(value, bytes):
        raise BadMessage("expected an integer")
    return big_endian_int.deserialize(value) if value else 0


def _bytes(value: Any, length: int | None = None) -> bytes:
    if not isinstance(value, bytes) or (length is not None and len(value) != length):
        raise BadMessage("expected a byte string" + (f" of {length} bytes" if length else ""))
    return value


def sign(key: PrivateKey, code: int, payload: list[Any]) -> bytes:
    signature = key.sign_msg_hash(keccak(bytes([code]) + rlp.encode(payload)))
    r: int = signature.r
    s: int = signature.s
    v: int = signature.v
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def recover(code: int, payload: list[Any], signature: bytes) -> bytes:
    if len(signature) != 65 or signature[64] > 1:
        raise BadMessage("signature must be 65 bytes r || s || v")
    try:
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
        sig = Signature(vrs=(signature[64], r, s))
        public = sig.recover_public_key_from_msg_hash(keccak(bytes([code]) + rlp.encode(payload)))
    except Exception as exc:  # eth_keys raises several types for a bad signature
        raise BadMessage(f"signature does not recover: {exc}") from exc
    return bytes(public.to_canonical_address())


@dataclass(frozen=True)
class Block:
    """A proposed block: header (without committed seals) and transactions."""

    header: QbftHeader
    transactions: tuple[SignedTransactionAPI, ...]

    @property
    def digest(self) -> bytes:
        return bytes(self.header.hash)

    @cached_property
    def encoded(self) -> bytes:
        """The block's RLP, built once (a proposal signs it, sends it and may save it as prepared)."""
        return bytes(rlp.encode([encode_header(self.header), encode_txs(list(self.transactions))]))

    def encode(self) -> bytes:
        return self.encoded

    @classmethod
    def decode(cls, data: bytes) -> Block:
        try:
            header_bytes, tx_bytes = rlp.decode(data)
            block = cls(decode_header(header_bytes), tuple(decode_txs(tx_bytes)))
        except Exception as exc:  # rlp and py-evm raise many types for malformed input
            raise BadMessage(f"block does not decode: {exc}") from exc
        # the bytes it was decoded from: what the author signed, and what we decoded (no re-encoding)
        block.__dict__["encoded"] = bytes(data)
        return block


@dataclass(frozen=True)
class Prepare:
    height: int
    round: int
    digest: bytes
    author: bytes = b""
    signature: bytes = b""

    def payload(self) -> list[Any]:
        return [self.height, self.round, self.digest]

    def signed(self, key: PrivateKey) -> Prepare:
        sig = sign(key, PREPARE, self.payload())
        return Prepare(self.height, self.round, self.digest, bytes(key.public_key.to_canonical_address()), sig)

    def to_rlp(self) -> list[Any]:
        return [self.payload(), self.signature]

    @classmethod
    def from_rlp(cls, item: Any) -> Prepare:
        try:
            payload, signature = item
            height, round_, digest = payload
        except (TypeError, ValueError) as exc:
            raise BadMessage("PREPARE: bad shape") from exc
        msg = cls(_uint(height), _uint(round_), _bytes(digest, 32))
        sig = _bytes(signature, 65)
        return cls(msg.height, msg.round, msg.digest, recover(PREPARE, msg.payload(), sig), sig)


@dataclass(frozen=True)
class Commit:
    height: int
    round: int
    digest: bytes
    seal: bytes
    author: bytes = b""
    signature: bytes = b""

    def payload(self) -> list[Any]:
        return [self.height, self.round, self.digest, self.seal]

    def signed(self, key: PrivateKey) -> Commit:
        sig = sign(key, COMMIT, self.payload())
        return Commit(
            self.height, self.round, self.digest, self.seal, bytes(key.public_key.to_canonical_address()), sig
        )

    def to_rlp(self) -> list[Any]:
        return [self.payload(), self.signature]

    @classmethod
    def from_rlp(cls, item: Any) -> Commit:
        try:
            payload, signature = item
            height, round_, digest, seal = payload
        except (TypeError, ValueError) as exc:
            raise BadMessage("COMMIT: bad shape") from exc
        msg = cls(_uint(height), _uint(round_), _bytes(digest, 32), _bytes(seal, 65))
        sig = _bytes(signature, 65)
        return cls(msg.height, msg.round, msg.digest, msg.seal, recover(COMMIT, msg.payload(), sig), sig)


@dataclass(frozen=True)
class RoundChange:
    height: int
    round: int
    prepared_round: int | None = None
    prepared_digest: bytes | None = None
    prepared_block: Block | None = None
    prepares: tuple[Prepare, ...] = field(default_factory=tuple)
    author: bytes = b""
    signature: bytes = b""

    def payload(self) -> list[Any]:
        if self.prepared_round is None or self.prepared_digest is None:
            return [self.height, self.round, b"", b""]
        return [self.height, self.round, self.prepared_round, self.prepared_digest]

    def signed(self, key: PrivateKey) -> RoundChange:
        sig = sign(key, ROUND_CHANGE, self.payload())
        return RoundChange(
            self.height,
            self.round,
            self.prepared_round,
            self.prepared_digest,
            self.prepared_block,
            self.prepares,
            bytes(key.public_key.to_canonical_address()),
            sig,
        )

    def signed_payload_rlp(self) -> list[Any]:
        return [self.payload(), self.signature]

    def to_rlp(self) -> list[Any]:
        block = self.prepared_block.encode() if self.prepared_block is not None else b""
        return [self.signed_payload_rlp(), block, [p.to_rlp() for p in self.prepares]]

    @classmethod
    def payload_from_rlp(cls, item: Any) -> RoundChange:
        """Just the signed payload (as carried in a PROPOSAL's justification)."""
        try:
            payload, signature = item
            height, round_, prepared_round, prepared_digest = payload
        except (TypeError, ValueError) as exc:
            raise BadMessage("ROUND_CHANGE: bad shape") from exc
        sig = _bytes(signature, 65)
        has_prepared = prepared_digest != b""
        msg = cls(
            _uint(height),
            _uint(round_),
            _uint(prepared_round) if has_prepared else None,
            _bytes(prepared_digest, 32) if has_prepared else None,
        )
        author = recover(ROUND_CHANGE, msg.payload(), sig)
        return cls(msg.height, msg.round, msg.prepared_round, msg.prepared_digest, None, (), author, sig)

    @classmethod
    def from_rlp(cls, item: Any) -> RoundChange:
        try:
            signed_payload, block, prepares = item
        except (TypeError, ValueError) as exc:
            raise BadMessage("ROUND_CHANGE: bad shape") from exc
        msg = cls.payload_from_rlp(signed_payload)
        prepared_block = Block.decode(_bytes(block)) if block else None
        if not isinstance(prepares, list):
            raise BadMessage("ROUND_CHANGE: prepares must be a list")
        return cls(
            msg.height,
            msg.round,
            msg.prepared_round,
            msg.prepared_digest,
            prepared_block,
            tuple(Prepare.from_rlp(p) for p in prepares),
            msg.author,
            msg.signature,
        )


@dataclass(frozen=True)
class Proposal:
    height: int
    round: int
    block: Block
    round_changes: tuple[RoundChange, ...] = field(default_factory=tuple)
    prepares: tuple[Prepare, ...] = field(default_factory=tuple)
    author: bytes = b""
    signature: bytes = b""

    @property
    def digest(self) -> bytes:
        return self.block.digest

    def payload(self) -> list[Any]:
        return [self.height, self.round, self.block.encode()]

    def signed(self, key: PrivateKey) -> Proposal:
        sig = sign(key, PROPOSAL, self.payload())
        return Proposal(
            self.height,
            self.round,
            self.block,
            self.round_changes,
            self.prepares,
            bytes(key.public_key.to_canonical_address()),
            sig,
        )

    def to_rlp(self) -> list[Any]:
        return [
            [self.payload(), self.signature],
            [rc.signed_payload_rlp() for rc in self.round_changes],
            [p.to_rlp() for p in self.prepares],
        ]

    @classmethod
    def from_rlp(cls, item: Any) -> Proposal:
        try:
            (payload, signature), round_changes, prepares = item
            height, round_, block = payload
        except (TypeError, ValueError) as exc:
            raise BadMessage("PROPOSAL: bad shape") from exc
        sig = _bytes(signature, 65)
        msg = cls(_uint(height), _uint(round_), Block.decode(_bytes(block)))
        author = recover(PROPOSAL, msg.payload(), sig)
        if not isinstance(round_changes, list) or not isinstance(prepares, list):
            raise BadMessage("PROPOSAL: justification must be lists")
        return cls(
            msg.height,
            msg.round,
            msg.block,
            tuple(RoundChange.payload_from_rlp(rc) for rc in round_changes),
            tuple(Prepare.from_rlp(p) for p in prepares),
            author,
            sig,
        )


Message = Proposal | Prepare | Commit | RoundChange


def encode_message(msg: Message) -> tuple[int, bytes]:
    code = {Proposal: PROPOSAL, Prepare: PREPARE, Commit: COMMIT, RoundChange: ROUND_CHANGE}[type(msg)]
    return code, bytes(rlp.encode(msg.to_rlp()))


def decode_message(code: int, data: bytes) -> Message:
    try:
        item = rlp.decode(data)
    except rlp.DecodingError as exc:
        raise BadMessage(f"not RLP: {exc}") from exc
    decoder = {PROPOSAL: Proposal, PREPARE: Prepare, COMMIT: Commit, ROUND_CHANGE: RoundChange}.get(code)
    if decoder is None:
        raise BadMessage(f"unknown consensus message code 0x{code:02x}")
    result: Message = decoder.from_rlp(item)  # type: ignore[attr-defined]
    return result


def encode_blocks(blocks: Sequence[tuple[QbftHeader, Sequence[SignedTransactionAPI]]]) -> bytes:
    """Sealed blocks for sync and block announcements: ``RLP[[header, txs], ...]``."""
    return bytes(rlp.encode([[encode_header(h), encode_txs(list(txs))] for h, txs in blocks]))


def decode_blocks(data: bytes) -> list[tuple[QbftHeader, list[SignedTransactionAPI]]]:
    try:
        return [(decode_header(h), decode_txs(t)) for h, t in rlp.decode(data)]
    except Exception as exc:  # malformed input from a peer
        raise BadMessage(f"blocks do not decode: {exc}") from exc
