"""Custodial keys at rest: generated here, sealed under the master key (AES-256-GCM envelope, wallet id as
associated data), and opened only by the custody door (``door.py``) for the signature it has just allowed."""

from __future__ import annotations

import uuid

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy.orm import Session

from gateway.db.models import Wallet, WalletKey
from gateway.exceptions import Conflict, NotFound
from gateway.keys.envelope import Sealed, seal, unseal
from gateway.keys.provider import KeyProvider


def owner(wallet_id: uuid.UUID) -> str:
    """The associated data a wallet's key is sealed under (rotation rewraps with the same)."""
    return f"wallet/{wallet_id}"


def generate(keys: KeyProvider, session: Session, *, wallet_id: uuid.UUID) -> tuple[str, WalletKey]:
    """A fresh key for a new custodial wallet: its address and the sealed row (the caller adds both)."""
    account: LocalAccount = Account.create()
    sealed = seal(keys, owner=owner(wallet_id), plaintext=bytes(account.key), session=session)
    row = WalletKey(
        wallet_id=wallet_id,
        master_version=sealed.master_version,
        wrapped_data_key=sealed.wrapped_data_key,
        encrypted_key=sealed.ciphertext,
    )
    return str(account.address), row


def unseal_account(keys: KeyProvider, session: Session, wallet: Wallet) -> LocalAccount:
    """The wallet's key, decrypted for one signature. Only ``door.py`` calls this (a test holds it to that)."""
    row = session.get(WalletKey, wallet.id)
    if row is None:
        raise NotFound("not a custodial wallet")
    key = unseal(
        keys, owner=owner(wallet.id), sealed=Sealed(row.master_version, row.wrapped_data_key, row.encrypted_key)
    )
    account: LocalAccount = Account.from_key(key)
    if account.address != wallet.address:
        raise Conflict("decrypted key does not match the wallet address")
    return account
