"""``reponet-node dev``: a throwaway single-validator chain with well-known funded accounts.

The dev accounts are the first ten of the standard test mnemonic (the same as Anvil's and Hardhat's), so a
test suite can run unchanged against Anvil and this node. Their keys are public: dev only.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account import Account
from eth_keys.datatypes import PrivateKey

from node.genesis import Genesis, GenesisAccount

TEST_MNEMONIC = "test test test test test test test test test test test junk"
DEV_BALANCE = 10_000 * 10**18
DEV_GAS_LIMIT = 60_000_000


@dataclass(frozen=True)
class DevAccount:
    address: str
    private_key: str


def dev_accounts(count: int, cache: Path | None = None) -> list[DevAccount]:
    """The first ``count`` test-mnemonic accounts; derivation is slow, so they are cached in the data dir."""
    if cache is not None and cache.exists():
        cached = [DevAccount(**entry) for entry in json.loads(cache.read_text())]
        if len(cached) >= count:
            return cached[:count]
    Account.enable_unaudited_hdwallet_features()
    accounts = []
    for i in range(count):
        acct = Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        accounts.append(DevAccount(acct.address, "0x" + bytes(acct.key).hex()))
    if cache is not None and cache.parent.exists():
        cache.write_text(json.dumps([asdict(a) for a in accounts]))
    return accounts


def dev_genesis(chain_id: int, accounts: list[DevAccount], timestamp: int) -> Genesis:
    alloc = {bytes.fromhex(acct.address[2:]): GenesisAccount(balance=DEV_BALANCE) for acct in accounts}
    return Genesis(
        chain_id=chain_id,
        gas_limit=DEV_GAS_LIMIT,
        timestamp=timestamp,
        extra_data=b"",
        alloc=alloc,
        account_rules=None,
        block_period=None,
    )


def new_validator_key() -> PrivateKey:
    return PrivateKey(secrets.token_bytes(32))
