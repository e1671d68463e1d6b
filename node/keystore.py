"""The validator key at rest: an encrypted Web3 Secret Storage keystore (eth-account, scrypt).

The password comes from ``--password-file`` or ``REPONET_NODE_PASSWORD``, never from the command line
(it would show in ``ps`` and shell history).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_keys.datatypes import PrivateKey

from node.exceptions import KeystoreError

PASSWORD_ENV = "REPONET_NODE_PASSWORD"  # noqa: S105 (a variable name)
KEYSTORE_FILE = "validator.keystore.json"


def read_password(password_file: Path | None) -> str:
    if password_file is not None:
        try:
            return password_file.read_text().rstrip("\r\n")
        except OSError as exc:
            raise KeystoreError(f"cannot read password file {password_file}: {exc.strerror}") from exc
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        raise KeystoreError(f"no keystore password: use --password-file or set {PASSWORD_ENV}")
    return password


def read_private_key_file(path: Path, password: str) -> PrivateKey:
    """A key given to ``init``: a keystore JSON (decrypted with the password) or a hex private key."""
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise KeystoreError(f"cannot read validator key {path}: {exc.strerror}") from exc
    if text.startswith("{"):
        return decrypt(json.loads(text), password)
    try:
        raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
        return PrivateKey(raw)
    except (ValueError, Exception) as exc:
        raise KeystoreError(f"{path}: not a keystore or a 32-byte hex private key") from exc


def decrypt(keystore: dict[str, object], password: str) -> PrivateKey:
    try:
        return PrivateKey(bytes(Account.decrypt(keystore, password)))
    except ValueError as exc:
        raise KeystoreError("wrong keystore password (MAC mismatch)") from exc


def write_keystore(path: Path, key: PrivateKey, password: str) -> None:
    encrypted = Account.encrypt(key.to_bytes(), password)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(encrypted))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def load_keystore(path: Path, password: str) -> PrivateKey:
    try:
        keystore = json.loads(path.read_text())
    except OSError as exc:
        raise KeystoreError(f"cannot read keystore {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise KeystoreError(f"keystore {path} is not JSON") from exc
    return decrypt(keystore, password)
