"""The FX side of ``GET /v1/risk/repos``: for a repo whose collateral is quoted in another currency than its cash,
the collateral's price in that currency, the FX rate into the cash token and the FX haircut (the engine's route,
contracts/CURRENCIES.md); and each cash token's rate into the base currency of the member's agreements.

Prices come from the followed oracle prices (``indexed_price``, None when stale); a token's currency and a pair's
FX haircut are read from the oracle through the typed bindings, pinned to a recent block and read once per block
whoever asks (``Market.oracle_at_head``). The route holds no write transaction while it reads them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session
from web3 import Web3

from gateway.chain.bindings.oracle import Oracle
from gateway.indexer.prices import indexed_price
from gateway.risk.exposure import PRICE_SCALE

ZERO = "0x" + "0" * 40


@dataclass(frozen=True)
class Priced:
    """A collateral's price: in the cash token directly (``currency`` None), or in ``currency`` with its route."""

    price: int | None
    currency: str | None  # lower case token of the collateral's currency when it differs from the cash
    fx_rate: int | None  # price of that currency in the cash token (1e18); None when stale
    fx_haircut_bps: int


@dataclass(frozen=True)
class Rate:
    """A cash token in a base currency: ``rate`` (1e18; None when stale) and the pair's FX haircut."""

    quote: str
    base: str
    rate: int | None
    haircut_bps: int


class FxReader:
    def __init__(self, session: Session, oracle: Oracle | None, now: int) -> None:
        self.session = session
        self.oracle = oracle
        self.now = now
        self._currency: dict[str, str] = {}
        self._haircut: dict[tuple[str, str], int] = {}

    def _price(self, asset: str, quote: str) -> int | None:
        if asset == quote:
            return PRICE_SCALE
        return indexed_price(self.session, asset, quote, self.now) if self.now else None

    def currency_of(self, token: str) -> str:
        if token not in self._currency:
            named = self.oracle.currency_of(token) if self.oracle is not None else ZERO
            self._currency[token] = str(named).lower()
        return self._currency[token]

    def haircut(self, asset: str, quote: str) -> int:
        if (asset, quote) not in self._haircut:
            terms = self.oracle.fx_terms(_checksum(asset), _checksum(quote)) if self.oracle is not None else None
            self._haircut[(asset, quote)] = terms.fx_haircut_bps if terms is not None and terms.cross_currency else 0
        return self._haircut[(asset, quote)]

    def collateral(self, collateral: str, cash: str) -> Priced:
        """Both addresses lower case."""
        currency = self.currency_of(_checksum(collateral))
        if currency in (ZERO, cash):
            return Priced(self._price(collateral, cash), None, None, 0)
        return Priced(
            price=self._price(collateral, currency),
            currency=currency,
            fx_rate=self._price(currency, cash),
            fx_haircut_bps=self.haircut(collateral, cash),
        )

    def rate(self, quote: str, base: str) -> Rate:
        if quote == base:
            return Rate(quote, base, PRICE_SCALE, 0)
        return Rate(quote, base, self._price(quote, base), self.haircut(quote, base))


def _checksum(address: str) -> str:
    return str(Web3.to_checksum_address(address))
