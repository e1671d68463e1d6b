"""The data directory: what lives where, and opening a node from it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eth_keys.datatypes import PrivateKey

from node.chain import Chain, initialize_chain
from node.consensus import SingleValidatorConsensus
from node.exceptions import ConfigError
from node.genesis import Genesis, genesis_validators
from node.keystore import KEYSTORE_FILE, load_keystore, write_keystore
from node.permissioning import AccountPermissioner, read_allowlist, write_allowlist
from node.storage import ChainStore

CHAIN_DB = "chain.sqlite"
ALLOWLIST = "allowlist.txt"
ADMIN_TOKEN = "admin.token"  # noqa: S105 (a file name)
RPC_KEY = "rpc-jwt.pem"


@dataclass(frozen=True)
class DataDir:
    path: Path

    @property
    def chain_db(self) -> Path:
        return self.path / CHAIN_DB

    @property
    def keystore(self) -> Path:
        return self.path / KEYSTORE_FILE

    @property
    def allowlist(self) -> Path:
        return self.path / ALLOWLIST

    @property
    def admin_token(self) -> Path:
        return self.path / ADMIN_TOKEN

    def is_initialized(self) -> bool:
        return self.chain_db.exists() and self.keystore.exists()

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)

    @property
    def rpc_key(self) -> Path:
        """The ES256 key that signs JSON-RPC tokens (node.rpc.auth), created at the first start."""
        return self.path / RPC_KEY

    def write_admin_token(self, token: str) -> str:
        """The operator's own token, owner-only: whoever can read it administers the node."""
        tmp = self.admin_token.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        tmp.replace(self.admin_token)
        return token


def init_data_dir(
    data_dir: DataDir, genesis: Genesis, key: PrivateKey, password: str, allow: set[bytes] | None = None
) -> bytes:
    """Write keystore, allowlist and block 0; returns the genesis hash."""
    if data_dir.chain_db.exists():
        raise ConfigError(f"{data_dir.path} is already initialized")
    data_dir.create()
    write_keystore(data_dir.keystore, key, password)
    validator = bytes(key.public_key.to_canonical_address())
    allowlist = read_allowlist(data_dir.allowlist) | {validator} | (allow or set())
    write_allowlist(data_dir.allowlist, allowlist)
    store = ChainStore(data_dir.chain_db)
    try:
        header = initialize_chain(store, genesis, genesis_validators(genesis, validator))
    finally:
        store.close()
    return bytes(header.hash)


def open_chain(data_dir: DataDir, password: str) -> tuple[Chain, AccountPermissioner, PrivateKey]:
    if not data_dir.chain_db.exists():
        raise ConfigError(f"{data_dir.path} is not initialized: run `reponet-node init` first")
    key = load_keystore(data_dir.keystore, password)
    store = ChainStore(data_dir.chain_db)
    rules = store.get_meta("account_rules")
    permissioner = AccountPermissioner(read_allowlist(data_dir.allowlist), rules or None)
    consensus = SingleValidatorConsensus(key)
    chain = Chain(store, consensus, permissioner)
    if consensus.local_address not in consensus.validators_after(chain.head):
        raise ConfigError("the validator key is not in the chain's validator set")
    return chain, permissioner, key
