"""A node's no, told apart: a revert with one of our contracts' custom errors is a refusal the client can fix
(409, named), anything else the node answered stays a chain error; no answer at all is an outage (outage.py)."""

from __future__ import annotations

from web3.exceptions import ContractLogicError, Web3RPCError

from contracts.errors import decode_revert, error_table
from gateway.exceptions import ContractRefused

NOT_REFUSALS = {"Panic"}  # a failed assertion in a contract is a fault, not a client's mistake


def revert_data(exc: BaseException) -> str | None:
    """The revert data (``0x``-hex) a web3 error carries, from a decoded revert or a raw JSON-RPC error."""
    if isinstance(exc, ContractLogicError) and isinstance(exc.data, str):
        return exc.data
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, dict):
        error = exc.rpc_response.get("error")
        found = error.get("data") if isinstance(error, dict) else None
        if isinstance(found, dict):
            found = found.get("data")
        if isinstance(found, str):
            return found
    return None


def refusal(what: str, exc: BaseException) -> ContractRefused | None:
    """``ContractRefused`` naming the contract's error when ``exc`` is a revert we can decode, else None."""
    data = revert_data(exc)
    decoded = decode_revert(data) if data and len(data) >= 10 else None
    if data is None or decoded is None:
        return None
    name = error_table()[bytes.fromhex(data.removeprefix("0x")[:8])][0]
    if name in NOT_REFUSALS:
        return None
    return ContractRefused(f"{what}: the contract refused with {decoded}", contract_error=name)
