"""The authenticated, encrypted channel between two nodes: a Noise XX handshake whose hash each node key signs.

Wire format: every message is ``length (4 bytes, big-endian) || body``.

Handshake (before anything is proven, every body is at most :data:`MAX_HANDSHAKE_FRAME` bytes and the whole
handshake must end within ``HANDSHAKE_TIMEOUT``; the prologue is ``"reponet-p2p/2" || genesis hash``, so a node of
another chain or protocol version fails to decrypt message 2):

1. initiator -> responder: Noise ``e``
2. responder -> initiator: Noise ``e, ee, s, es`` and the encrypted identity ``RLP[node public key (64), listen
   port, signature]``
3. initiator -> responder: Noise ``s, se`` and the encrypted identity of the initiator

The signature is the node key's (secp256k1, as in the enode URL) over ``keccak("reponet-p2p-noise" || h)`` where
``h`` is the Noise handshake hash just before that payload: it covers both ephemeral keys of this session, so a
signature taken from one session (a relay talking to the real node) does not verify in another. Each side checks
the recovered key against the claimed one, the initiator also against the enode it dialled, and both ask node
permissioning about the proven key before the link is used.

Transport: each body is ``ChaCha20-Poly1305(code (1 byte) || payload)`` under the session key of its direction,
with the length prefix as associated data; nonces are the Noise counters (never reused; the key is replaced by
Noise's Rekey every :data:`REKEY_EVERY` messages). After the handshake a body may be up to :data:`MAX_FRAME`.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass

import rlp
from eth_hash.auto import keccak
from eth_keys.datatypes import PrivateKey, Signature
from rlp.sedes import big_endian_int

from node.exceptions import NodeError
from node.p2p.noise import CipherState, Handshake, NoiseError

PROTOCOL = b"reponet-p2p/2"
SIGNATURE_DOMAIN = b"reponet-p2p-noise"
MAX_HANDSHAKE_FRAME = 4 * 1024
MAX_FRAME = 32 * 1024 * 1024
TAG = 16
REKEY_EVERY = 1 << 20
# The responder's first frame, sent once it has checked the initiator's proven key: until it arrives the dialler
# does not count the link, so a node that is refused never shows its refuser as a peer.
ACCEPTED = 0x01


class HandshakeFailed(NodeError):
    """A connection that did not prove a permitted node key, or broke the wire format."""


@dataclass(frozen=True)
class Identity:
    """What the other side proved: its node public key (64 bytes) and the port it listens on."""

    pubkey: bytes
    listen_port: int


PermissionCheck = Callable[[Identity], None]  # raises HandshakeFailed when the proven node may not peer


def prologue(genesis_hash: bytes) -> bytes:
    return PROTOCOL + genesis_hash


def binding_digest(handshake_hash: bytes) -> bytes:
    return keccak(SIGNATURE_DOMAIN + handshake_hash)


def identity_payload(key: PrivateKey, listen_port: int, handshake_hash: bytes) -> bytes:
    signature = key.sign_msg_hash(binding_digest(handshake_hash)).to_bytes()
    return bytes(rlp.encode([bytes(key.public_key.to_bytes()), listen_port, signature]))


def verify_identity(payload: bytes, handshake_hash: bytes) -> Identity:
    """The identity in ``payload`` if its signature is the claimed key's over this session's hash."""
    try:
        pubkey, port_raw, signature = rlp.decode(payload)
        port = big_endian_int.deserialize(port_raw) if port_raw else 0
    except Exception as exc:  # rlp raises several types for malformed input
        raise HandshakeFailed(f"malformed identity: {exc}") from exc
    if not isinstance(pubkey, bytes) or len(pubkey) != 64 or not isinstance(signature, bytes) or len(signature) != 65:
        raise HandshakeFailed("malformed identity")
    if port > 65535:
        raise HandshakeFailed("listen port out of range")
    try:
        recovered = Signature(signature).recover_public_key_from_msg_hash(binding_digest(handshake_hash))
    except Exception as exc:  # eth_keys raises several types for a bad signature
        raise HandshakeFailed(f"identity signature invalid: {exc}") from exc
    if recovered.to_bytes() != pubkey:
        raise HandshakeFailed("identity not signed by its node key for this session")
    return Identity(pubkey, port)


async def read_body(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bytes]:
    """(length prefix, body); a declared length over ``limit`` is refused before anything is read or allocated."""
    head = await reader.readexactly(4)
    (length,) = struct.unpack(">I", head)
    if length > limit:
        raise HandshakeFailed(f"message of {length} bytes exceeds the limit of {limit}")
    return head, await reader.readexactly(length)


def framed(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


class SecureChannel:
    """The two cipher states of an established session, with the frame cap of proven peers."""

    def __init__(self, send: CipherState, receive: CipherState, max_frame: int = MAX_FRAME) -> None:
        self._send = send
        self._receive = receive
        self.max_frame = max_frame

    def seal(self, code: int, payload: bytes) -> bytes:
        head = struct.pack(">I", len(payload) + 1 + TAG)
        return head + self._send.encrypt(head, bytes([code]) + payload)

    async def read(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head, body = await read_body(reader, self.max_frame + 1 + TAG)
        try:
            plaintext = self._receive.decrypt(head, body)
        except NoiseError as exc:
            raise HandshakeFailed(str(exc)) from exc
        if not plaintext:
            raise HandshakeFailed("empty frame")
        return plaintext[0], plaintext[1:]


async def initiate(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    key: PrivateKey,
    genesis_hash: bytes,
    listen_port: int,
    expected_pubkey: bytes,
    permitted: PermissionCheck,
) -> tuple[Identity, SecureChannel]:
    """The dialling side: the responder must prove ``expected_pubkey`` (the enode dialled) and be permitted before
    this side proves its own key in message 3."""
    hs = Handshake(initiator=True, prologue=prologue(genesis_hash))
    try:
        writer.write(framed(hs.write_message_1()))
        await writer.drain()
        _, message = await read_body(reader, MAX_HANDSHAKE_FRAME)
        payload_ct = hs.read_message_2_keys(message)
        signed_hash = hs.hash
        remote = verify_identity(hs.read_payload(payload_ct), signed_hash)
        if remote.pubkey != expected_pubkey:
            raise HandshakeFailed("the dialled node proved another node key")
        permitted(remote)
        keys = hs.write_message_3_keys()
        writer.write(framed(keys + hs.write_payload(identity_payload(key, listen_port, hs.hash))))
        await writer.drain()
        send, receive = hs.split(REKEY_EVERY)
        channel = SecureChannel(send, receive, max_frame=MAX_HANDSHAKE_FRAME)
        code, rest = await channel.read(reader)
        if code != ACCEPTED or rest:
            raise HandshakeFailed("the dialled node did not accept this one")
        channel.max_frame = MAX_FRAME
    except NoiseError as exc:
        raise HandshakeFailed(f"{exc} (another chain or protocol version, or tampering)") from exc
    return remote, channel


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    key: PrivateKey,
    genesis_hash: bytes,
    listen_port: int,
    permitted: PermissionCheck,
) -> tuple[Identity, SecureChannel]:
    """The accepting side: proves its key in message 2; the initiator must prove its key in message 3 and be
    permitted (checked on the proven key only)."""
    hs = Handshake(initiator=False, prologue=prologue(genesis_hash))
    try:
        _, message = await read_body(reader, MAX_HANDSHAKE_FRAME)
        hs.read_message_1(message)
        keys = hs.write_message_2_keys()
        writer.write(framed(keys + hs.write_payload(identity_payload(key, listen_port, hs.hash))))
        await writer.drain()
        _, message = await read_body(reader, MAX_HANDSHAKE_FRAME)
        payload_ct = hs.read_message_3_keys(message)
        signed_hash = hs.hash
        remote = verify_identity(hs.read_payload(payload_ct), signed_hash)
        permitted(remote)
        send, receive = hs.split(REKEY_EVERY)
        channel = SecureChannel(send, receive)
        writer.write(channel.seal(ACCEPTED, b""))
        await writer.drain()
    except NoiseError as exc:
        raise HandshakeFailed(f"{exc} (another chain or protocol version, or tampering)") from exc
    return remote, channel
