"""The PriceOracle as the gateway reads it: a price with its time, an FX pair's terms, a pending large move, and the
per-pair maximum age and a token's currency."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from gateway.chain.bindings.structs import Block, at_block, named, outputs_of
from gateway.chain.head_memo import HeadMemo


@dataclass(frozen=True)
class PriceReading:
    """``getPrice(asset, quote)``: ``price`` in the oracle's raw units of quote per asset, set at ``updated_at``."""

    price: int
    updated_at: int

    @classmethod
    def decode(cls, values: Any, outputs: list[dict[str, Any]]) -> PriceReading:
        f = named(values, outputs, cls)
        return cls(price=int(f["price"]), updated_at=int(f["updated_at"]))


@dataclass(frozen=True)
class FxTerms:
    """``fxTermsOf(asset, quote)``: whether the quote is listed, the pair crosses currencies, and its extra haircut."""

    quote_listed: bool
    cross_currency: bool
    fx_haircut_bps: int

    @classmethod
    def decode(cls, values: Any, outputs: list[dict[str, Any]]) -> FxTerms:
        f = named(values, outputs, cls)
        return cls(
            quote_listed=bool(f["quote_listed"]),
            cross_currency=bool(f["cross_currency"]),
            fx_haircut_bps=int(f["fx_haircut_bps"]),
        )


@dataclass(frozen=True)
class PendingMove:
    """``pendingMoveOf(asset, quote)``: a move beyond the pair's bound, waiting for a second feeder's confirmation."""

    price: int
    proposer: str
    proposed_at: int

    @classmethod
    def decode(cls, values: Any, outputs: list[dict[str, Any]]) -> PendingMove:
        f = named(values, outputs, cls)
        return cls(price=int(f["price"]), proposer=str(f["proposer"]), proposed_at=int(f["proposed_at"]))


@cache
def _outputs(function: str) -> list[dict[str, Any]]:
    from contracts.artifacts import load_artifact

    return outputs_of(load_artifact("PriceOracle").abi, function)


class Oracle:
    """Typed reads of a deployed PriceOracle (a web3 contract object)."""

    def __init__(self, contract: Any) -> None:
        self.contract = contract

    def price(self, asset: str, quote: str, *, block: Block | None = None) -> PriceReading:
        raw = self.contract.functions.getPrice(asset, quote).call(**at_block(block))
        return PriceReading.decode(raw, _outputs("getPrice"))

    def fx_terms(self, asset: str, quote: str, *, block: Block | None = None) -> FxTerms:
        raw = self.contract.functions.fxTermsOf(asset, quote).call(**at_block(block))
        return FxTerms.decode(raw, _outputs("fxTermsOf"))

    def pending_move(self, asset: str, quote: str) -> PendingMove:
        return PendingMove.decode(self.contract.functions.pendingMoveOf(asset, quote).call(), _outputs("pendingMoveOf"))

    def max_age(self, asset: str, quote: str, *, block: Block | None = None) -> int:
        return int(self.contract.functions.maxAgeOf(asset, quote).call(**at_block(block)))

    def currency_of(self, token: str, *, block: Block | None = None) -> str:
        return str(self.contract.functions.currencyOf(token).call(**at_block(block)))


class OracleAtBlock(Oracle):
    """The oracle's currencies and FX terms as of one block, each read once per block across requests (``memo``,
    the process's ``gateway.chain.head_memo.HeadMemo``): the risk routes read them for every member's repos."""

    def __init__(self, contract: Any, block: int, memo: HeadMemo) -> None:
        super().__init__(contract)
        self.block = block
        self.memo = memo

    def currency_of(self, token: str, *, block: Block | None = None) -> str:
        if block is not None:
            return super().currency_of(token, block=block)
        key = ("currencyOf", self.contract.address, token.lower())
        return self.memo.get(self.block, key, lambda: Oracle.currency_of(self, token, block=self.block))

    def fx_terms(self, asset: str, quote: str, *, block: Block | None = None) -> FxTerms:
        if block is not None:
            return super().fx_terms(asset, quote, block=block)
        key = ("fxTermsOf", self.contract.address, asset.lower(), quote.lower())
        return self.memo.get(self.block, key, lambda: Oracle.fx_terms(self, asset, quote, block=self.block))
