"""Contract view calls as one plain ``eth_call``, coded with eth_abi from the contract's ABI.

web3's ``contract.functions.f(...).call()`` runs the arguments and the answer through several layers of
formatters and normalizers; on a busy gateway those cost more CPU than the node spends answering. The hot reads
(registry checks, repo state, position owner) go through here instead, with web3's conventions kept: addresses
come back checksummed, a lone output comes back bare, several as a tuple, and a revert raises
``ContractLogicError``.
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_abi_to_4byte_selector
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.types import RPCEndpoint

from contracts.errors import decode_revert


def error_reason(error: Any) -> str:
    """The reason in a JSON-RPC error: the revert decoded when it is one of our contracts' errors, else the
    node's message."""
    if not isinstance(error, dict):
        return str(error)
    found = error.get("data")
    if isinstance(found, dict):
        found = found.get("data")
    decoded = decode_revert(found) if isinstance(found, bytes | str) else None
    return decoded or str(error.get("message", error))


def event_topic(abi: dict[str, Any]) -> bytes:
    """An event's first log topic: the keccak of its signature (struct fields spelled out, as in the ABI)."""
    return bytes(Web3.keccak(text=f"{abi['name']}({','.join(_type_of(i) for i in abi['inputs'])})"))


def _type_of(param: dict[str, Any]) -> str:
    """The canonical type string of an ABI parameter (tuples spelled out from their components)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_type_of(c) for c in param["components"]) + ")" + kind[len("tuple") :]
    return kind


def _normalize(param: dict[str, Any], value: Any) -> Any:
    kind = str(param["type"])
    if kind.endswith("]"):
        inner = {**param, "type": kind[: kind.rindex("[")]}
        return [_normalize(inner, v) for v in value]
    if kind == "tuple":
        return tuple(_normalize(c, v) for c, v in zip(param["components"], value, strict=True))
    if kind == "address":
        return to_checksum_address(value)
    return value


class ViewFunction:
    """One function of one deployed contract: its call data coded with eth_abi (web3's contract layers cost
    several times as much per call), and for a view function a plain ``eth_call``."""

    def __init__(self, w3: Web3, address: str, abi: Any, name: str) -> None:
        entries: list[Any] = [e for e in abi if e.get("type") == "function" and e.get("name") == name]
        if len(entries) != 1:
            raise ValueError(f"{name}: {len(entries)} functions of that name in the ABI")
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.name = name
        self._inputs = [_type_of(p) for p in entries[0]["inputs"]]
        self._outputs = entries[0]["outputs"]
        self._output_types = [_type_of(p) for p in self._outputs]
        self._selector = bytes(function_abi_to_4byte_selector(entries[0]))

    def calldata(self, *args: Any) -> bytes:
        """The transaction data of a call with ``args`` (structs as tuples, as web3 takes them)."""
        return self._selector + encode(self._inputs, list(args))

    def __call__(self, *args: Any, block: int | str = "latest") -> Any:
        """The view's answer on ``block`` (a number: the state after that block, as the indexer reads it)."""
        call = {"to": self.address, "data": "0x" + self.calldata(*args).hex()}
        at = hex(block) if isinstance(block, int) else block
        response = self.w3.provider.make_request(RPCEndpoint("eth_call"), [call, at])
        error = response.get("error")
        if error is not None:
            raise ContractLogicError(f"{self.name} reverted: {error_reason(error)}")
        decoded = decode(self._output_types, bytes.fromhex(str(response["result"])[2:]))
        values = tuple(_normalize(p, v) for p, v in zip(self._outputs, decoded, strict=True))
        return values[0] if len(values) == 1 else values
