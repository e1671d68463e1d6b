"""AES-256-GCM envelope encryption.

A secret is encrypted with a fresh 256-bit data key; the data key is wrapped with the current master key.
Both layers bind the owner id (e.g. the wallet id) as associated data, so a ciphertext copied onto another
row fails to decrypt. Layout of each blob: 12-byte nonce || ciphertext+tag.

Sealing takes the session whose transaction will store the result: it holds the master-key lock
(``gateway.keys.lock``) so that no version is retired while a row sealed under it is on its way to the database.
``session=None`` is for secrets that no database row holds.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from gateway.exceptions import KeyManagementError
from gateway.keys.lock import hold_shared
from gateway.keys.provider import KeyProvider

NONCE_BYTES = 12


@dataclass(frozen=True)
class Sealed:
    master_version: int
    wrapped_data_key: bytes
    ciphertext: bytes


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise KeyManagementError("decryption failed: wrong key or associated data") from None


def _wrap_aad(owner: str, version: int) -> bytes:
    return f"reponet/data-key/v{version}/{owner}".encode()


def _data_aad(owner: str) -> bytes:
    return f"reponet/secret/{owner}".encode()


def seal(provider: KeyProvider, *, owner: str, plaintext: bytes, session: Session | None) -> Sealed:
    if session is not None:
        hold_shared(session)
    version, master = provider.key_for_encrypt()
    data_key = AESGCM.generate_key(bit_length=256)
    return Sealed(
        master_version=version,
        wrapped_data_key=_encrypt(master, data_key, _wrap_aad(owner, version)),
        ciphertext=_encrypt(data_key, plaintext, _data_aad(owner)),
    )


def unseal(provider: KeyProvider, *, owner: str, sealed: Sealed) -> bytes:
    master = provider.key_for_decrypt(sealed.master_version)
    data_key = _decrypt(master, sealed.wrapped_data_key, _wrap_aad(owner, sealed.master_version))
    return _decrypt(data_key, sealed.ciphertext, _data_aad(owner))


def rewrap(provider: KeyProvider, *, owner: str, sealed: Sealed) -> Sealed:
    """Re-wrap the data key under the current master version; the ciphertext is untouched."""
    master = provider.key_for_decrypt(sealed.master_version)
    data_key = _decrypt(master, sealed.wrapped_data_key, _wrap_aad(owner, sealed.master_version))
    version, current = provider.key_for_encrypt()
    return Sealed(version, _encrypt(current, data_key, _wrap_aad(owner, version)), sealed.ciphertext)


def _pack(sealed: Sealed) -> bytes:
    """One blob: version (2 bytes) || wrapped-key length (1 byte) || wrapped key || ciphertext."""
    return (
        sealed.master_version.to_bytes(2, "big")
        + len(sealed.wrapped_data_key).to_bytes(1, "big")
        + sealed.wrapped_data_key
        + sealed.ciphertext
    )


def _unpack(blob: bytes) -> Sealed:
    size = blob[2]
    return Sealed(int.from_bytes(blob[:2], "big"), blob[3 : 3 + size], blob[3 + size :])


def seal_small(provider: KeyProvider, *, owner: str, plaintext: bytes, session: Session | None) -> bytes:
    """``seal`` packed into one column (TOTP secrets and other small secrets)."""
    return _pack(seal(provider, owner=owner, plaintext=plaintext, session=session))


def unseal_small(provider: KeyProvider, *, owner: str, blob: bytes) -> bytes:
    return unseal(provider, owner=owner, sealed=_unpack(blob))


def blob_version(blob: bytes) -> int:
    return _unpack(blob).master_version


def rewrap_small(provider: KeyProvider, *, owner: str, blob: bytes) -> bytes:
    return _pack(rewrap(provider, owner=owner, sealed=_unpack(blob)))
