"""Account permissioning: a local allowlist file, then an on-chain rules contract.

A sender is allowed when it is on the local allowlist (``allowlist.txt`` in the data directory: the
operator's bootstrap and override, needed before any contract exists), or when the account-rules
contract (Besu's interface) returns true from
``transactionAllowed(address sender, address target, uint256 value, uint256 gasPrice, uint256 gasLimit,
bytes payload)``. The call runs against the state being checked (the head for the pool, the block being
built for inclusion) and is reverted afterwards, so it never changes state.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import cast

from eth.abc import SignedTransactionAPI
from eth.vm.forks.prague.state import PragueState
from eth.vm.message import Message
from eth_abi.abi import encode as abi_encode
from eth_typing import Address
from eth_utils.address import is_hex_address, to_canonical_address
from eth_utils.crypto import keccak

from node.abc import PermissionerAPI
from node.exceptions import ConfigError

logger = logging.getLogger(__name__)

TRANSACTION_ALLOWED = keccak(text="transactionAllowed(address,address,uint256,uint256,uint256,bytes)")[:4]
RULES_CALL_GAS = 2_000_000
ZERO_ADDRESS = b"\x00" * 20


def read_allowlist(path: Path) -> set[bytes]:
    """Addresses from an allowlist file: one per line, ``#`` starts a comment."""
    if not path.exists():
        return set()
    allowed: set[bytes] = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if not is_hex_address(text):
            raise ConfigError(f"{path}:{number}: not an address: {text!r}")
        allowed.add(bytes(to_canonical_address(text)))
    return allowed


def write_allowlist(path: Path, addresses: set[bytes]) -> None:
    lines = ["# RepoNet node: senders allowed regardless of the account-rules contract"]
    lines += ["0x" + a.hex() for a in sorted(addresses)]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


def effective_gas_price(tx: SignedTransactionAPI) -> int:
    """The most the sender pays per gas: the max fee of a dynamic-fee transaction, else the gas price.

    A dynamic-fee transaction's ``gas_price`` raises (an exception per look-up, several per admission), so it is
    read only when there is no ``max_fee_per_gas``; a zero max fee is a price, not a missing one."""
    price = getattr(tx, "max_fee_per_gas", None)
    if price is None:
        price = getattr(tx, "gas_price", 0)
    return int(price or 0)


class AccountPermissioner(PermissionerAPI):
    def __init__(self, allowlist: set[bytes], rules_address: bytes | None) -> None:
        self._allowlist = set(allowlist)
        self._rules = rules_address
        self._lock = threading.Lock()

    @property
    def rules_address(self) -> bytes | None:
        return self._rules

    def set_rules_address(self, address: bytes | None) -> None:
        with self._lock:
            self._rules = address
        logger.info("account rules contract set to %s", "0x" + address.hex() if address else None)

    @property
    def allowlist(self) -> frozenset[bytes]:
        return frozenset(self._allowlist)

    def add_to_allowlist(self, address: bytes) -> None:
        with self._lock:
            self._allowlist.add(address)

    def is_allowed(self, state: PragueState, tx: SignedTransactionAPI) -> bool:
        sender = bytes(tx.sender)
        if sender in self._allowlist:
            return True
        rules = self._rules
        if rules is None:
            return False
        return self.contract_allows(state, rules, sender, tx)

    @staticmethod
    def contract_allows(state: PragueState, rules: bytes, sender: bytes, tx: SignedTransactionAPI) -> bool:
        code = state.get_code(cast(Address, rules))
        if not code:
            return False
        data = TRANSACTION_ALLOWED + abi_encode(
            ["address", "address", "uint256", "uint256", "uint256", "bytes"],
            [sender, bytes(tx.to) or ZERO_ADDRESS, tx.value, effective_gas_price(tx), tx.gas, bytes(tx.data)],
        )
        message = Message(
            gas=RULES_CALL_GAS,
            to=cast(Address, rules),
            sender=cast(Address, ZERO_ADDRESS),
            value=0,
            data=data,
            code=code,
            is_static=True,
        )
        context = state.get_transaction_context_class()(gas_price=0, origin=cast(Address, ZERO_ADDRESS))
        snapshot = state.snapshot()
        try:
            computation = state.computation_class.apply_message(state, message, context)
        finally:
            state.revert(snapshot)
        if computation.is_error:
            return False
        output = bytes(computation.output)
        return len(output) >= 32 and int.from_bytes(output[:32], "big") == 1
