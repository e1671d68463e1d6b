"""Genesis files in the geth/Besu format, and building block 0 from one.

Accepted: ``config.chainId``; ``alloc`` (balance, nonce, code, storage); ``gasLimit``; ``timestamp``;
``extraData`` (Besu QBFT RLP, whose validator list is kept; anything else is replaced by QBFT extra-data
naming the node's validator); fork settings are read but every block executes at Prague.
RepoNet extension: ``config.reponet.accountRulesAddress`` names the account-rules contract.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA256, ZERO_HASH32
from eth.vm.forks.prague.state import PragueState
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.address import is_hex_address, to_canonical_address

from node import qbft_extra
from node.exceptions import GenesisError
from node.execution import execution_context
from node.headers import QbftHeader, copy_header
from node.qbft_extra import QBFT_MIX_HASH, QbftExtraData
from node.storage import StateDB

DEFAULT_GAS_LIMIT = 30_000_000


@dataclass(frozen=True)
class GenesisAccount:
    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Genesis:
    chain_id: int
    gas_limit: int
    timestamp: int
    extra_data: bytes
    alloc: dict[bytes, GenesisAccount]
    account_rules: bytes | None
    block_period: float | None


def _int(value: Any, what: str) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            result = value
        elif isinstance(value, str):
            result = int(value, 16) if value.lower().startswith("0x") else int(value, 10)
        else:
            raise ValueError
    except ValueError:
        raise GenesisError(f"{what}: not an integer: {value!r}") from None
    if result < 0:
        raise GenesisError(f"{what}: must not be negative")
    return result


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise GenesisError(f"{what}: expected a hex string")
    text = value[2:] if value.lower().startswith("0x") else value
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise GenesisError(f"{what}: not hex: {value!r}") from None


def _address(value: str, what: str) -> bytes:
    text = value if value.lower().startswith("0x") else "0x" + value
    if not is_hex_address(text):
        raise GenesisError(f"{what}: not an address: {value!r}")
    return bytes(to_canonical_address(text))


def parse_genesis(data: dict[str, Any]) -> Genesis:
    """Validate a genesis document; every problem is a :class:`GenesisError` naming the field."""
    if not isinstance(data, dict):
        raise GenesisError("genesis must be a JSON object")
    config = data.get("config")
    if not isinstance(config, dict) or "chainId" not in config:
        raise GenesisError("config.chainId is required")
    chain_id = _int(config["chainId"], "config.chainId")
    if chain_id == 0:
        raise GenesisError("config.chainId must be positive")
    alloc_raw = data.get("alloc", {})
    if not isinstance(alloc_raw, dict):
        raise GenesisError("alloc must be an object")
    alloc: dict[bytes, GenesisAccount] = {}
    for key, account in alloc_raw.items():
        where = f"alloc.{key}"
        if not isinstance(account, dict):
            raise GenesisError(f"{where}: must be an object")
        storage_raw = account.get("storage", {})
        if not isinstance(storage_raw, dict):
            raise GenesisError(f"{where}.storage: must be an object")
        alloc[_address(key, where)] = GenesisAccount(
            balance=_int(account.get("balance", 0), f"{where}.balance"),
            nonce=_int(account.get("nonce", 0), f"{where}.nonce"),
            code=_bytes(account.get("code", "0x"), f"{where}.code"),
            storage={
                _int(k, f"{where}.storage key"): _int(v, f"{where}.storage value") for k, v in storage_raw.items()
            },
        )
    reponet = config.get("reponet", {})
    rules = reponet.get("accountRulesAddress") if isinstance(reponet, dict) else None
    qbft = config.get("qbft", {})
    period = qbft.get("blockperiodseconds") if isinstance(qbft, dict) else None
    gas_limit = _int(data.get("gasLimit", DEFAULT_GAS_LIMIT), "gasLimit")
    if gas_limit < 21_000:
        raise GenesisError("gasLimit must be at least 21000")
    return Genesis(
        chain_id=chain_id,
        gas_limit=gas_limit,
        timestamp=_int(data.get("timestamp", 0), "timestamp"),
        extra_data=_bytes(data.get("extraData", "0x"), "extraData"),
        alloc=alloc,
        account_rules=_address(rules, "config.reponet.accountRulesAddress") if rules else None,
        block_period=float(period) if isinstance(period, int | float) else None,
    )


def load_genesis(path: Path) -> Genesis:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise GenesisError(f"cannot read genesis {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GenesisError(f"genesis {path} is not valid JSON: {exc}") from exc
    return parse_genesis(data)


def genesis_validators(genesis: Genesis, fallback: bytes) -> tuple[bytes, ...]:
    """The validator set of block 0: from QBFT extra-data when the file has it, else ``fallback``."""
    if genesis.extra_data:
        try:
            return qbft_extra.decode(genesis.extra_data).validators or (fallback,)
        except GenesisError:
            pass
    return (fallback,)


def build_genesis_header(genesis: Genesis, db: StateDB, validators: tuple[bytes, ...]) -> QbftHeader:
    """Write the genesis state into ``db`` (pending) and return block 0's header."""
    template = QbftHeader(
        difficulty=1,
        block_number=BlockNumber(0),
        gas_limit=genesis.gas_limit,
        timestamp=genesis.timestamp,
        extra_data=QbftExtraData(validators=validators).encode(),
        mix_hash=Hash32(QBFT_MIX_HASH),
        nonce=b"\x00" * 8,
        base_fee_per_gas=0,
        withdrawals_root=BLANK_ROOT_HASH,
        parent_beacon_block_root=ZERO_HASH32,
        requests_hash=Hash32(EMPTY_SHA256),
    )
    state = PragueState(db, execution_context(template, (), genesis.chain_id), BLANK_ROOT_HASH)
    for raw_address, account in genesis.alloc.items():
        address = cast(Address, raw_address)
        state.set_balance(address, account.balance)
        state.set_nonce(address, account.nonce)
        if account.code:
            state.set_code(address, account.code)
        for slot, value in account.storage.items():
            state.set_storage(address, slot, value)
    state.persist()
    return copy_header(template, state_root=state.state_root)
