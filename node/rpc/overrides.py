"""State overrides (geth's ``eth_call`` third parameter, also ``eth_estimateGas`` and ``eth_simulateV1``): an
account's balance, nonce, code and storage replaced for one call, on a state that is then thrown away.

``state`` replaces an account's whole storage, ``stateDiff`` changes only the slots it names; both at once is an
error, as in geth. Parsing is complete before anything is applied, so bad input changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from eth.vm.forks.prague.state import PragueState
from eth_typing import Address

from node.exceptions import InvalidParams
from node.rpc import params as p

MAX_OVERRIDE_ACCOUNTS = 1_000
MAX_OVERRIDE_SLOTS = 10_000
_FIELDS = frozenset({"balance", "nonce", "code", "state", "stateDiff"})


@dataclass(frozen=True)
class AccountOverride:
    address: bytes
    balance: int | None = None
    nonce: int | None = None
    code: bytes | None = None
    storage: tuple[tuple[int, int], ...] | None = None  # ``state``: the whole storage
    storage_diff: tuple[tuple[int, int], ...] = ()  # ``stateDiff``: these slots only


StateOverrides = tuple[AccountOverride, ...]


def _slots(value: Any, what: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid argument: {what}: object of slot to value expected")
    return tuple(
        (int.from_bytes(p.hash32(slot, f"{what} slot"), "big"), int.from_bytes(p.hash32(word, f"{what} value"), "big"))
        for slot, word in value.items()
    )


def state_overrides(value: Any) -> StateOverrides:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise InvalidParams("invalid argument: state overrides: object of address to account override expected")
    if len(value) > MAX_OVERRIDE_ACCOUNTS:
        raise InvalidParams(f"invalid argument: state overrides: at most {MAX_OVERRIDE_ACCOUNTS} accounts")
    result: list[AccountOverride] = []
    slots = 0
    for raw_address, fields in value.items():
        address = p.address(raw_address, "state override address")
        if not isinstance(fields, dict):
            raise InvalidParams(f"invalid argument: state override of {raw_address}: object expected")
        unknown = set(fields) - _FIELDS
        if unknown:
            raise InvalidParams(f"invalid argument: state override of {raw_address}: unsupported {sorted(unknown)}")
        if fields.get("state") is not None and fields.get("stateDiff") is not None:
            raise InvalidParams(f"account {raw_address} has both 'state' and 'stateDiff'")
        storage = _slots(fields["state"], "state") if fields.get("state") is not None else None
        diff = _slots(fields["stateDiff"], "stateDiff") if fields.get("stateDiff") is not None else ()
        slots += len(storage or ()) + len(diff)
        if slots > MAX_OVERRIDE_SLOTS:
            raise InvalidParams(f"invalid argument: state overrides: at most {MAX_OVERRIDE_SLOTS} storage slots")
        nonce = p.quantity(fields["nonce"], "nonce") if fields.get("nonce") is not None else None
        if nonce is not None and nonce >= 2**64:
            raise InvalidParams("invalid argument: nonce: out of range")
        result.append(
            AccountOverride(
                address=address,
                balance=p.quantity(fields["balance"], "balance") if fields.get("balance") is not None else None,
                nonce=nonce,
                code=p.data(fields["code"], "code") if fields.get("code") is not None else None,
                storage=storage,
                storage_diff=diff,
            )
        )
    return tuple(result)


def apply_overrides(state: PragueState, overrides: StateOverrides) -> None:
    for override in overrides:
        address = cast(Address, override.address)
        if override.balance is not None:
            state.set_balance(address, override.balance)
        if override.nonce is not None:
            state.set_nonce(address, override.nonce)
        if override.code is not None:
            state.set_code(address, override.code)
        if override.storage is not None:
            state.delete_storage(address)
            for slot, word in override.storage:
                state.set_storage(address, slot, word)
        for slot, word in override.storage_diff:
            state.set_storage(address, slot, word)
    if overrides:
        state.lock_changes()
