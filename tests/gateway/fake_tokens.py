"""A token contract as ``gateway.chain.bindings.tokens.Token`` reads it, for tests whose market is a stand-in:
``balanceOf`` is a plain ``eth_call`` (``gateway.chain.calls.ViewFunction``) answered from ``balance(holder)``,
and every other read goes through ``functions`` as web3's contract object would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.artifacts import load_artifact


class _Rpc:
    """The contract's ``w3``: its provider answers ``eth_call balanceOf(holder)``. Hashable by identity, as a Web3."""

    def __init__(self, balance: Callable[[str], int]) -> None:
        self.balance = balance
        self.provider = self

    def make_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        assert method == "eth_call", method
        holder = "0x" + str(params[0]["data"])[-40:]
        return {"jsonrpc": "2.0", "id": 1, "result": "0x" + self.balance(holder).to_bytes(32, "big").hex()}


class FakeToken:
    def __init__(self, address: str, balance: int | Callable[[str], int], functions: Any = None) -> None:
        self.address = address
        self.abi = load_artifact("BondToken").abi
        self.w3 = _Rpc(balance if callable(balance) else lambda _holder: balance)
        self.functions = functions
