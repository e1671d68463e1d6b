"""The PermissionedToken (cash and bond) as the gateway reads it: metadata, balances, allowances, a bond's maturity."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from gateway.chain.bindings.structs import Block
from gateway.chain.calls import ViewFunction

# balanceOf is read for every delivery check and every wallet a transfer touched: it goes through the plain
# ``eth_call`` of ``ViewFunction``, built once per token contract object (the market keeps one per token), not web3's
# contract layers (several times the CPU). Keyed weakly by the contract: the view holds the client, not the contract,
# so a contract and its view go when the market that made them goes.
_balance_views: weakref.WeakKeyDictionary[Any, ViewFunction] = weakref.WeakKeyDictionary()
_views_lock = threading.Lock()


@dataclass(frozen=True)
class TokenMetadata:
    symbol: str
    name: str
    decimals: int


class Token:
    """Typed reads of a deployed PermissionedToken (a web3 contract object)."""

    def __init__(self, contract: Any) -> None:
        self.contract = contract

    def metadata(self) -> TokenMetadata:
        f = self.contract.functions
        return TokenMetadata(
            symbol=str(f.symbol().call()), name=str(f.name().call()), decimals=int(f.decimals().call())
        )

    def balance_of(self, holder: str, *, block: Block | None = None) -> int:
        return int(self._balance_view()(holder, block="latest" if block is None else block))

    def _balance_view(self) -> ViewFunction:
        with _views_lock:
            view = _balance_views.get(self.contract)
            if view is None:
                c = self.contract
                view = _balance_views[c] = ViewFunction(c.w3, str(c.address), c.abi, "balanceOf")
        return view

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.contract.functions.allowance(owner, spender).call())

    def maturity(self) -> int:
        """A bond's maturity (Unix seconds); cash tokens have none."""
        return int(self.contract.functions.maturity().call())
