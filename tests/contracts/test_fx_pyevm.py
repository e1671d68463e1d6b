"""Many currencies on py-evm through web3.py: a EUR repo against a USD Treasury (priced in USD, valued in EUR
through the oracle's USD/EUR pair with an FX haircut) opens, is margined after an FX move and repurchased, and a
defaulted one is closed out through the pair; every value against a Decimal reference of the formulas in
contracts/CURRENCIES.md."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

import pytest
from web3.logs import DISCARD

from contracts.deploy import contract, deploy_bond_token, deploy_cash_token, list_tokens, set_currency
from scripts.harness.repo_system import CASH_DECIMALS, YEAR, RepoSystem, build_system

OPEN, MARGIN_CALLED, REPURCHASED, CLOSED_OUT = 1, 2, 4, 5
STATUS, COLLATERAL_AMOUNT, MARGIN_CALL_OUTSTANDING = 8, 17, 20
UST_DECIMALS = 2
# 1 UST smallest unit (0.01 USD nominal) at 99 % of par = 0.0099 USD = 9,900 USD-cash smallest units (6 decimals).
UST_PRICE = 9_900 * 10**18
USD_EUR = 92 * 10**16  # one USD smallest unit in EUR smallest units (both 6 decimals): 0.92
FX_HAIRCUT = 600
SCALE = Decimal(10**18)


@dataclass
class Fx:
    s: RepoSystem
    usd: str
    ust: str

    def post(self, ust_price: int, usd_eur: int) -> None:
        o, op = self.s.oracle.functions, self.s.operator
        self.s.send(op, o.setPrice(self.ust, self.usd, ust_price))
        self.s.send(op, o.setPrice(self.usd, self.s.cash.address, usd_eur))


def floor(x: Decimal) -> Decimal:
    return x.to_integral_value(rounding=ROUND_FLOOR)


def ceil(x: Decimal) -> Decimal:
    return x.to_integral_value(rounding=ROUND_CEILING)


def reference_adjusted(amount: int, price: int, fx: int, haircut: int, fx_haircut: int) -> int:
    """CURRENCIES.md: V_C = ⌊A·p⌋, V = ⌊V_C·x⌋, adjusted = ⌊V·(1 − h − f)⌋ (prices as decimals)."""
    with localcontext() as ctx:
        ctx.prec = 120
        local = floor(Decimal(amount) * Decimal(price) / SCALE)
        value = floor(local * Decimal(fx) / SCALE)
        return int(floor(value * (Decimal(10_000) - haircut - fx_haircut) / Decimal(10_000)))


def reference_units(owed: int, price: int, fx: int) -> int:
    """CURRENCIES.md close-out: U = ⌈⌈R / x⌉ / p⌉, never short of R in the repo's currency."""
    with localcontext() as ctx:
        ctx.prec = 120
        local = ceil(Decimal(owed) * SCALE / Decimal(fx))
        return int(ceil(local * SCALE / Decimal(price)))


@pytest.fixture
def fx() -> Fx:
    s = build_system()
    reg, op = s.addresses["identity_registry"], s.operator
    usd = deploy_cash_token(
        s.w3, op, registry=reg, name="USD Deposit Token", symbol="USDD", currency="USD", decimals=CASH_DECIMALS
    )
    ust = deploy_bond_token(
        s.w3,
        op,
        registry=reg,
        name="UST 4% 2034",
        symbol="T34",
        isin="US91282CJZ59",
        decimals=UST_DECIMALS,
        coupon_rate=4 * 10**16,
        maturity=s.now() + 8 * YEAR,
    )
    oracle = s.addresses["price_oracle"]
    set_currency(s.w3, op, oracle=oracle, token=usd)
    set_currency(s.w3, op, oracle=oracle, token=ust, currency=usd)
    list_tokens(s.w3, op, engine=s.engine.address, tokens=[usd, ust])
    s.send(op, s.oracle.functions.setFxHaircut(usd, s.cash.address, FX_HAIRCUT))
    t = contract(s.w3, "BondToken", ust)
    s.send(op, t.functions.mint(s.seller.address, 10_000_000 * 10**UST_DECIMALS))
    s.send(s.seller, t.functions.approve(s.engine.address, 2**256 - 1))
    f = Fx(s=s, usd=usd, ust=ust)
    f.post(UST_PRICE, USD_EUR)
    return f


def ust_of(f: Fx, who: str) -> int:
    return int(contract(f.s.w3, "BondToken", f.ust).functions.balanceOf(who).call())


def test_eur_repo_against_usd_treasury_opens_is_margined_and_repurchased(fx: Fx) -> None:
    s, e = fx.s, fx.s.engine.functions
    amount = 1_200_000 * 10**UST_DECIMALS
    terms = s.terms(collateralToken=fx.ust, collateralAmount=amount, maturity=s.now() + 30 * 86_400)
    rid = s.open(terms)
    assert e.fxTermsOf(rid).call() == [True, FX_HAIRCUT]
    assert e.collateralValue(rid).call() == reference_adjusted(amount, UST_PRICE, USD_EUR, 200, FX_HAIRCUT)
    assert ust_of(fx, s.engine.address) == amount

    fx.post(UST_PRICE, 85 * 10**16)  # EUR strengthens against USD: the Treasuries cover less
    adjusted = reference_adjusted(amount, UST_PRICE, 85 * 10**16, 200, FX_HAIRCUT)
    assert e.collateralValue(rid).call() == adjusted
    s.send(s.keeper, e.callMargin(rid))
    repo = e.getRepo(rid).call()
    assert repo[STATUS] == MARGIN_CALLED
    called = int(repo[MARGIN_CALL_OUTSTANDING])
    assert 0 < called <= int(e.repurchasePrice(rid, s.now()).call()) - adjusted + 1

    extra = 100_000 * 10**UST_DECIMALS
    assert reference_adjusted(extra, UST_PRICE, 85 * 10**16, 200, FX_HAIRCUT) >= called
    s.send(s.seller, e.postMargin(rid, extra, 0))
    assert e.getRepo(rid).call()[STATUS] == OPEN

    s.tester.time_travel(terms["maturity"])
    fx.post(UST_PRICE, 85 * 10**16)
    s.send(s.operator, s.oracle.functions.setPrice(s.bond.address, s.cash.address, 9_800 * 10**18))
    rp = int(e.repurchasePrice(rid, terms["maturity"]).call())
    buyer_cash, seller_ust = s.balances(s.buyer.address)[0], ust_of(fx, s.seller.address)
    s.send(s.seller, e.repurchase(rid))
    assert e.getRepo(rid).call()[STATUS] == REPURCHASED
    assert s.balances(s.buyer.address)[0] == buyer_cash + rp
    assert ust_of(fx, s.seller.address) == seller_ust + amount + extra
    assert ust_of(fx, s.engine.address) == 0


def test_close_out_through_the_fx_pair(fx: Fx) -> None:
    s, e = fx.s, fx.s.engine.functions
    amount = 1_200_000 * 10**UST_DECIMALS
    terms = s.terms(collateralToken=fx.ust, collateralAmount=amount)
    rid = s.open(terms)
    s.tester.time_travel(terms["maturity"] + terms["gracePeriod"] + 1)
    fx.post(UST_PRICE, USD_EUR)
    s.send(s.keeper, e.declareDefault(rid))
    owed = int(e.repurchasePrice(rid, s.now()).call())
    receipt = s.send(s.buyer, e.closeOut(rid))
    args = s.engine.events.RepoClosedOut().process_receipt(receipt, errors=DISCARD)[0]["args"]
    units = reference_units(owed, UST_PRICE, USD_EUR)
    assert args["collateralToHolder"] == units == ust_of(fx, s.buyer.address)
    assert args["collateralToSeller"] == amount - units
    assert e.getRepo(rid).call()[STATUS] == CLOSED_OUT
    assert e.shortfallOf(rid).call() == 0


def test_cross_values_match_the_decimal_reference(fx: Fx) -> None:
    s, e = fx.s, fx.s.engine.functions
    rng = random.Random(17)
    for _ in range(8):
        price = rng.randrange(10**21, 10**23)
        rate = rng.randrange(10**16, 2 * 10**18)
        haircut, fx_haircut = rng.randrange(0, 3_000), rng.randrange(0, 3_000)
        s.send(s.operator, s.oracle.functions.setFxHaircut(fx.usd, s.cash.address, fx_haircut))
        fx.post(price, rate)
        amount = rng.randrange(1, 10**8)
        rid = s.open(s.terms(collateralToken=fx.ust, collateralAmount=amount, haircutBps=haircut))
        assert e.collateralValue(rid).call() == reference_adjusted(amount, price, rate, haircut, fx_haircut)
        value = rng.randrange(1, 10**12)
        units = int(s.oracle.functions.unitsFor(fx.ust, s.cash.address, value).call())
        assert units == reference_units(value, price, rate)
