"""The PermissionedToken (cash and bond) as the gateway reads it: metadata, balances, allowances, a bond's maturity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.chain.bindings.structs import Block, at_block


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
        return int(self.contract.functions.balanceOf(holder).call(**at_block(block)))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.contract.functions.allowance(owner, spender).call())

    def maturity(self) -> int:
        """A bond's maturity (Unix seconds); cash tokens have none."""
        return int(self.contract.functions.maturity().call())
