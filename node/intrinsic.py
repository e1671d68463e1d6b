"""Intrinsic gas of a Prague transaction: the one computation the pool, the block builder and ``eth_estimateGas`` use.

Why one function: the pool once counted access lists while gas estimation did not, so every EIP-2930 transaction
built the usual way (estimate, then send with the estimate) was refused "intrinsic gas too low". The rules:

- 21,000 per transaction; calldata at 4 gas per zero byte and 16 per other byte (EIP-2028);
- contract creation: 32,000 more, and 2 gas per 32-byte word of init code (EIP-3860);
- an access list: 2,400 per address and 1,900 per storage key (EIP-2930);
- the EIP-7623 floor (Prague): a transaction uses at least 21,000 + 10 per calldata token (a zero byte is one
  token, any other byte four), so its gas limit must cover the floor too.

py-evm charges the same total (it takes the init-code words during execution rather than up front), so a
transaction that passes here never fails py-evm's own intrinsic check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth.abc import SignedTransactionAPI

from node.exceptions import TxRejected

TX_GAS = 21_000
CREATE_GAS = 32_000
ZERO_BYTE_GAS = 4
NONZERO_BYTE_GAS = 16  # EIP-2028
INITCODE_WORD_GAS = 2  # EIP-3860
MAX_INITCODE_SIZE = 49_152  # EIP-3860
ACCESS_LIST_ADDRESS_GAS = 2_400  # EIP-2930
ACCESS_LIST_KEY_GAS = 1_900  # EIP-2930
FLOOR_GAS_PER_TOKEN = 10  # EIP-7623
NONZERO_BYTE_TOKENS = 4  # EIP-7623

AccessList = Sequence[tuple[bytes, Sequence[int]]]


@dataclass(frozen=True)
class IntrinsicGas:
    gas: int  # charged before execution starts
    floor: int  # EIP-7623: the least gas the transaction uses, whatever its execution costs

    @property
    def minimum(self) -> int:
        """The lowest gas limit a transaction may carry."""
        return max(self.gas, self.floor)


def intrinsic_gas(data: bytes, create: bool, access_list: AccessList = ()) -> IntrinsicGas:
    zeros = data.count(0)
    nonzeros = len(data) - zeros
    gas = TX_GAS + ZERO_BYTE_GAS * zeros + NONZERO_BYTE_GAS * nonzeros
    if create:
        gas += CREATE_GAS + INITCODE_WORD_GAS * ((len(data) + 31) // 32)
    for _address, keys in access_list:
        gas += ACCESS_LIST_ADDRESS_GAS + ACCESS_LIST_KEY_GAS * len(keys)
    floor = TX_GAS + FLOOR_GAS_PER_TOKEN * (zeros + NONZERO_BYTE_TOKENS * nonzeros)
    return IntrinsicGas(gas, floor)


def transaction_intrinsic_gas(tx: SignedTransactionAPI) -> IntrinsicGas:
    access = getattr(tx, "access_list", ()) or ()
    return intrinsic_gas(bytes(tx.data), not tx.to, [(bytes(a), tuple(keys)) for a, keys in access])


# set on a transaction object that passed: the answer depends on its own fields alone, so the block builder does
# not recount what the pool counted at admission (a transaction decoded from a peer's block is counted there)
_PASSED_ATTR = "_reponet_intrinsic_ok"


def intrinsic_gas_error(tx: SignedTransactionAPI) -> str | None:
    """Why ``tx`` can never execute for lack of gas or for oversized init code (geth's wording), else None."""
    if getattr(tx, _PASSED_ATTR, False):
        return None
    if not tx.to and len(tx.data) > MAX_INITCODE_SIZE:
        return "max initcode size exceeded"
    need = transaction_intrinsic_gas(tx)
    if tx.gas < need.gas:
        return "intrinsic gas too low"
    if tx.gas < need.floor:
        return f"insufficient gas for floor data gas cost: gas {tx.gas}, minimum needed {need.floor}"
    try:
        object.__setattr__(tx, _PASSED_ATTR, True)
    except (AttributeError, TypeError):  # an object without a __dict__: counted again next time
        pass
    return None


def validate_intrinsic_gas(tx: SignedTransactionAPI) -> None:
    reason = intrinsic_gas_error(tx)
    if reason is not None:
        raise TxRejected(reason)
