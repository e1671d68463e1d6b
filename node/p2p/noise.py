"""The Noise protocol's ``XX`` handshake, ``Noise_XX_25519_ChaChaPoly_SHA256``, on the primitives of ``cryptography``.

Only the state objects of the Noise specification (revision 34, sections 5 and 7) are written here: a
:class:`CipherState` (ChaCha20-Poly1305, 64-bit counter nonce, ``Rekey``), a :class:`SymmetricState` (the chaining key
and the handshake hash ``h``; HKDF is RFC 5869's with ``ck`` as salt and an empty info, which is Noise's HKDF) and a
:class:`Handshake` that runs the three XX messages::

    -> e
    <- e, ee, s, es
    -> s, se

Every cryptographic operation (X25519, ChaCha20-Poly1305, HKDF, SHA-256) is the library's. What the peers prove about
themselves travels as the payload of messages 2 and 3 (see :mod:`node.p2p.transport`); :attr:`Handshake.hash` before
each payload is what a node key signs, so a signature is bound to this very session (channel binding).
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from node.exceptions import NodeError

PROTOCOL_NAME = b"Noise_XX_25519_ChaChaPoly_SHA256"
DHLEN = 32
HASHLEN = 32
TAGLEN = 16
MAX_NONCE = 2**64 - 1  # reserved by Noise for Rekey


class NoiseError(NodeError):
    """A handshake or transport message that does not decrypt, or a protocol step out of order."""


def _public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _dh(private: X25519PrivateKey, public: bytes) -> bytes:
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError as exc:  # a low-order point gives an all-zero secret, which the library refuses
        raise NoiseError(f"bad X25519 public key: {exc}") from exc


def _hkdf(chaining_key: bytes, ikm: bytes, outputs: int) -> list[bytes]:
    okm = HKDF(algorithm=hashes.SHA256(), length=HASHLEN * outputs, salt=chaining_key, info=b"").derive(ikm)
    return [okm[i * HASHLEN : (i + 1) * HASHLEN] for i in range(outputs)]


def _nonce(n: int) -> bytes:
    return b"\x00" * 4 + n.to_bytes(8, "little")


class CipherState:
    """A key and its message counter: a nonce is never used twice under one key (the counter only grows, and the
    session ends before it would wrap). ``rekey_every`` messages the key is replaced by Noise's ``Rekey``."""

    def __init__(self, key: bytes | None = None, rekey_every: int = 0) -> None:
        self._aead = ChaCha20Poly1305(key) if key is not None else None
        self._key = key
        self.n = 0
        self.rekey_every = rekey_every

    @property
    def has_key(self) -> bool:
        return self._aead is not None

    def _advance(self) -> None:
        self.n += 1
        if self.n >= MAX_NONCE:
            raise NoiseError("nonce space of the session exhausted")
        if self.rekey_every and self.n % self.rekey_every == 0:
            self.rekey()

    def encrypt(self, ad: bytes, plaintext: bytes) -> bytes:
        if self._aead is None:
            return plaintext
        ciphertext = self._aead.encrypt(_nonce(self.n), plaintext, ad)
        self._advance()
        return ciphertext

    def decrypt(self, ad: bytes, ciphertext: bytes) -> bytes:
        if self._aead is None:
            return ciphertext
        try:
            plaintext = self._aead.decrypt(_nonce(self.n), ciphertext, ad)
        except InvalidTag:
            raise NoiseError("message does not authenticate") from None
        self._advance()
        return plaintext

    def rekey(self) -> None:
        assert self._aead is not None
        self._key = self._aead.encrypt(_nonce(MAX_NONCE), b"\x00" * 32, b"")[:32]
        self._aead = ChaCha20Poly1305(self._key)


class SymmetricState:
    def __init__(self, protocol_name: bytes) -> None:
        if len(protocol_name) <= HASHLEN:
            self.h = protocol_name.ljust(HASHLEN, b"\x00")
        else:
            self.h = hashlib.sha256(protocol_name).digest()
        self.ck = self.h
        self.cipher = CipherState()

    def mix_key(self, ikm: bytes) -> None:
        self.ck, temp_k = _hkdf(self.ck, ikm, 2)
        self.cipher = CipherState(temp_k)

    def mix_hash(self, data: bytes) -> None:
        self.h = hashlib.sha256(self.h + data).digest()

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        ciphertext = self.cipher.encrypt(self.h, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        plaintext = self.cipher.decrypt(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return plaintext

    def split(self, rekey_every: int) -> tuple[CipherState, CipherState]:
        k1, k2 = _hkdf(self.ck, b"", 2)
        return CipherState(k1, rekey_every), CipherState(k2, rekey_every)


class Handshake:
    """One side of an XX handshake. Call in order: the initiator ``write_message_1``, ``read_message_2``,
    ``write_message_3``; the responder ``read_message_1``, ``write_message_2``, ``read_message_3``; then ``split``.
    ``hash`` before a payload is written or read is the value both sides sign and check."""

    def __init__(self, initiator: bool, prologue: bytes, static: X25519PrivateKey | None = None) -> None:
        self.initiator = initiator
        self.state = SymmetricState(PROTOCOL_NAME)
        self.state.mix_hash(prologue)
        self.s = static or X25519PrivateKey.generate()
        self.e: X25519PrivateKey | None = None
        self.re: bytes | None = None
        self.rs: bytes | None = None
        self._step = 0

    @property
    def hash(self) -> bytes:
        return self.state.h

    def _expect(self, step: int, initiator: bool) -> None:
        if self._step != step or self.initiator != initiator:
            raise NoiseError("handshake message out of order")
        self._step += 1

    def _take(self, message: bytes, length: int) -> tuple[bytes, bytes]:
        if len(message) < length:
            raise NoiseError("handshake message too short")
        message = bytes(message)
        return message[:length], message[length:]

    # -> e
    def write_message_1(self) -> bytes:
        self._expect(0, True)
        self.e = X25519PrivateKey.generate()
        e_pub = _public_bytes(self.e)
        self.state.mix_hash(e_pub)
        return e_pub + self.state.encrypt_and_hash(b"")

    def read_message_1(self, message: bytes) -> None:
        self._expect(0, False)
        self.re, rest = self._take(message, DHLEN)
        self.state.mix_hash(self.re)
        if self.state.decrypt_and_hash(rest) != b"":
            raise NoiseError("message 1 carries a payload")

    # <- e, ee, s, es (then the payload, after :attr:`hash` was signed)
    def write_message_2_keys(self) -> bytes:
        self._expect(1, False)
        assert self.re is not None
        self.e = X25519PrivateKey.generate()
        e_pub = _public_bytes(self.e)
        self.state.mix_hash(e_pub)
        self.state.mix_key(_dh(self.e, self.re))
        s_ct = self.state.encrypt_and_hash(_public_bytes(self.s))
        self.state.mix_key(_dh(self.s, self.re))
        return e_pub + s_ct

    def read_message_2_keys(self, message: bytes) -> bytes:
        """Reads up to the payload; returns the payload's ciphertext."""
        self._expect(1, True)
        assert self.e is not None
        self.re, rest = self._take(message, DHLEN)
        self.state.mix_hash(self.re)
        self.state.mix_key(_dh(self.e, self.re))
        s_ct, rest = self._take(rest, DHLEN + TAGLEN)
        self.rs = self.state.decrypt_and_hash(s_ct)
        self.state.mix_key(_dh(self.e, self.rs))
        return rest

    # -> s, se (then the payload)
    def write_message_3_keys(self) -> bytes:
        self._expect(2, True)
        assert self.re is not None
        s_ct = self.state.encrypt_and_hash(_public_bytes(self.s))
        self.state.mix_key(_dh(self.s, self.re))
        return s_ct

    def read_message_3_keys(self, message: bytes) -> bytes:
        self._expect(2, False)
        assert self.e is not None
        s_ct, rest = self._take(message, DHLEN + TAGLEN)
        self.rs = self.state.decrypt_and_hash(s_ct)
        self.state.mix_key(_dh(self.e, self.rs))
        return rest

    def write_payload(self, payload: bytes) -> bytes:
        return self.state.encrypt_and_hash(payload)

    def read_payload(self, ciphertext: bytes) -> bytes:
        return self.state.decrypt_and_hash(ciphertext)

    def split(self, rekey_every: int) -> tuple[CipherState, CipherState]:
        """(sending, receiving) cipher states for this side."""
        if self._step != 3:
            raise NoiseError("handshake not finished")
        first, second = self.state.split(rekey_every)
        return (first, second) if self.initiator else (second, first)
