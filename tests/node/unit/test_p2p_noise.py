"""The Noise XX handshake and the sealed channel, without a node: interoperability with the reference library
``noiseprotocol`` (same handshake hash, same transport keys), session binding of the node-key signatures, nonces
and rekeying, and the frame caps."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from eth_keys.datatypes import PrivateKey
from noise.connection import Keypair, NoiseConnection

from node.p2p.noise import CipherState, Handshake, NoiseError
from node.p2p.transport import (
    MAX_HANDSHAKE_FRAME,
    HandshakeFailed,
    Identity,
    SecureChannel,
    framed,
    identity_payload,
    initiate,
    read_body,
    respond,
    verify_identity,
)

PROLOGUE = b"reponet-p2p/2" + b"\x01" * 32
KEY_A, KEY_B = PrivateKey(b"\x0a" * 32), PrivateKey(b"\x0b" * 32)


def reference(initiator: bool) -> NoiseConnection:
    ref = NoiseConnection.from_name(b"Noise_XX_25519_ChaChaPoly_SHA256")
    if initiator:
        ref.set_as_initiator()
    else:
        ref.set_as_responder()
    ref.set_prologue(PROLOGUE)
    static = X25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    ref.set_keypair_from_private_bytes(Keypair.STATIC, static)
    ref.start_handshake()
    return ref


@pytest.mark.parametrize("ours_initiates", [True, False])
def test_handshake_interoperates_with_the_reference_library(ours_initiates: bool) -> None:
    ours, ref = Handshake(ours_initiates, PROLOGUE), reference(not ours_initiates)
    if ours_initiates:
        ref.read_message(ours.write_message_1())
        assert ours.read_payload(ours.read_message_2_keys(bytes(ref.write_message(b"two")))) == b"two"
        assert bytes(ref.read_message(ours.write_message_3_keys() + ours.write_payload(b"three"))) == b"three"
    else:
        ours.read_message_1(bytes(ref.write_message(b"")))
        assert bytes(ref.read_message(ours.write_message_2_keys() + ours.write_payload(b"two"))) == b"two"
        assert ours.read_payload(ours.read_message_3_keys(bytes(ref.write_message(b"three")))) == b"three"
    assert ref.handshake_finished
    assert bytes(ref.get_handshake_hash()) == ours.hash
    send, receive = ours.split(rekey_every=0)
    assert bytes(ref.decrypt(send.encrypt(b"", b"ping"))) == b"ping"
    assert receive.decrypt(b"", bytes(ref.encrypt(b"pong"))) == b"pong"


def handshake_pair(prologue_b: bytes = PROLOGUE) -> tuple[Handshake, Handshake, bytes]:
    """Initiator and responder through message 2's keys; returns the responder's payload ciphertext."""
    a, b = Handshake(True, PROLOGUE), Handshake(False, prologue_b)
    b.read_message_1(a.write_message_1())
    keys = b.write_message_2_keys()
    payload_ct = b.write_payload(identity_payload(KEY_B, 30303, b.hash))
    a.read_message_2_keys(keys)
    return a, b, payload_ct


def test_an_identity_verifies_only_in_the_session_it_was_signed_for() -> None:
    a, _, payload_ct = handshake_pair()
    signed_hash = a.hash
    identity = verify_identity(a.read_payload(payload_ct), signed_hash)
    assert identity.pubkey == KEY_B.public_key.to_bytes() and identity.listen_port == 30303
    other, _, _ = handshake_pair()  # another session with the same node: other ephemerals, other hash
    with pytest.raises(HandshakeFailed, match="this session"):
        verify_identity(identity_payload(KEY_B, 30303, signed_hash), other.hash)
    forged = identity_payload(KEY_A, 30303, signed_hash)  # signed by A, claiming B's key
    claimed_b = forged.replace(KEY_A.public_key.to_bytes(), KEY_B.public_key.to_bytes())
    with pytest.raises(HandshakeFailed):
        verify_identity(claimed_b, signed_hash)


def test_another_chain_does_not_decrypt_message_two() -> None:
    with pytest.raises(NoiseError):  # the genesis hash is in the prologue, hence in every key
        handshake_pair(prologue_b=b"reponet-p2p/2" + b"\x02" * 32)


def test_nonces_advance_and_rekey_keeps_both_sides_in_step() -> None:
    key = b"\x07" * 32
    sender, receiver = CipherState(key, rekey_every=3), CipherState(key, rekey_every=3)
    stale = CipherState(key)  # never rekeys
    messages = [sender.encrypt(b"ad", bytes([i])) for i in range(10)]
    assert len(set(messages)) == 10
    assert [receiver.decrypt(b"ad", m) for m in messages] == [bytes([i]) for i in range(10)]
    assert sender.n == receiver.n == 10
    for m in messages[:3]:
        stale.decrypt(b"ad", m)
    with pytest.raises(NoiseError):  # the fourth message is under the replaced key
        stale.decrypt(b"ad", messages[3])
    with pytest.raises(NoiseError):  # a replayed message does not authenticate at the next nonce
        receiver.decrypt(b"ad", messages[9])


def sealed_pair() -> tuple[SecureChannel, SecureChannel]:
    a, b = Handshake(True, PROLOGUE), Handshake(False, PROLOGUE)
    b.read_message_1(a.write_message_1())
    a.read_payload(a.read_message_2_keys(b.write_message_2_keys() + b.write_payload(b"")))
    b.read_payload(b.read_message_3_keys(a.write_message_3_keys() + a.write_payload(b"")))
    (a_send, a_receive), (b_send, b_receive) = a.split(0), b.split(0)
    return SecureChannel(a_send, a_receive, max_frame=1024), SecureChannel(b_send, b_receive, max_frame=1024)


def feed(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_sealed_frames_round_trip_and_tampering_or_oversize_is_refused() -> None:
    async def run() -> None:
        a, b = sealed_pair()
        frame = a.seal(0x13, b"vote")
        assert b"vote" not in frame
        assert await b.read(feed(frame)) == (0x13, b"vote")
        tampered = a.seal(0x13, b"vote")
        with pytest.raises(HandshakeFailed):
            await b.read(feed(tampered[:-1] + bytes([tampered[-1] ^ 1])))
        with pytest.raises(HandshakeFailed, match="exceeds"):
            await b.read(feed(a.seal(0x05, b"x" * 2000)))
        with pytest.raises(HandshakeFailed, match="exceeds"):  # refused on the length alone, before the body
            await read_body(feed(framed(b"")[:0] + (MAX_HANDSHAKE_FRAME + 1).to_bytes(4, "big")), MAX_HANDSHAKE_FRAME)

    asyncio.run(run())


@pytest.mark.parametrize("accepted", [True, False])
def test_the_dialler_has_a_link_only_once_the_responder_accepts_it(accepted: bool) -> None:
    """Over a real loopback socket: when the responder refuses the dialler's proven key, ``initiate`` fails instead of
    returning a channel (before the accepted frame, a refused dialler counted its refuser as a peer for a moment)."""
    genesis = b"\x01" * 32

    def refuse(_: Identity) -> None:
        if not accepted:
            raise HandshakeFailed("not on the allowlist")

    async def run() -> tuple[Identity | None, BaseException | None]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await respond(reader, writer, KEY_B, genesis, 30303, refuse)
            except HandshakeFailed:
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            remote, channel = await asyncio.wait_for(
                initiate(reader, writer, KEY_A, genesis, 30304, KEY_B.public_key.to_bytes(), lambda _: None), 10
            )
            assert channel.max_frame > MAX_HANDSHAKE_FRAME  # proven peers get the large cap back
            return remote, None
        except (HandshakeFailed, asyncio.IncompleteReadError, ConnectionError) as exc:
            return None, exc
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    remote, failure = asyncio.run(run())
    if accepted:
        assert failure is None and remote is not None and remote.pubkey == KEY_B.public_key.to_bytes()
    else:
        assert remote is None and failure is not None
