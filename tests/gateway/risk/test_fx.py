"""Cross-currency exposure and netting against a Decimal reference: the engine's valuation through an FX pair with
the FX haircut added, the conversion into the agreement's base currency never against the lender, and the
threshold + minimum transfer edges tested on a net made of repos in two currencies."""

from __future__ import annotations

from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.risk.exposure import PRICE_SCALE, Method, RepoValue, Terms, call_amount
from gateway.risk.fx import SAME, Conversion, Route, exposure, net_in_base, to_base

ONE = 10**18


def reference_exposure(repo: RepoValue, route: Route, method: Method) -> Decimal:
    """Exact: V = A·p·x, haircuts add (no rounding)."""
    with localcontext() as ctx:
        ctx.prec = 200
        v = Decimal(repo.collateral_amount) * Decimal(repo.price) / ONE * Decimal(route.rate) / ONE
        h = Decimal(repo.haircut_bps + route.haircut_bps) / 10_000
        if method is Method.B:
            return Decimal(repo.repurchase_price) - v * (1 - h) - Decimal(repo.cash_margin)
        return (Decimal(repo.repurchase_price) - Decimal(repo.cash_margin)) / (1 - h) - v


def reference_to_base(amount: int, conversion: Conversion) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 200
        value = Decimal(amount) * Decimal(conversion.rate) / ONE
        return value if amount >= 0 else value * (10_000 - conversion.haircut_bps) / 10_000


repos = st.builds(
    RepoValue,
    repo_id=st.integers(1, 10**6),
    lender=st.just("L"),
    borrower=st.just("B"),
    repurchase_price=st.integers(0, 10**30),
    collateral_amount=st.integers(0, 10**24),
    price=st.integers(0, 10**22),
    haircut_bps=st.integers(0, 4_999),
    cash_margin=st.integers(0, 10**28),
)
routes = st.builds(Route, rate=st.integers(1, 10**19), haircut_bps=st.integers(0, 4_999))


@settings(max_examples=400, deadline=None)
@given(repo=repos, route=routes, method=st.sampled_from(list(Method)))
def test_cross_currency_exposure_is_the_exact_figure_rounded_for_the_lender(
    repo: RepoValue, route: Route, method: Method
) -> None:
    exact = reference_exposure(repo, route, method)
    got = exposure(repo, route, method)
    assert Decimal(got) >= exact  # values rounded down: never in the borrower's favour
    # the engine's two floors (V_C, then V) cost at most x/1e18 + 1 units of V; method A scales that by 1/(1−h−f)
    slack = (Decimal(route.rate) / ONE + 2) / (1 - Decimal(repo.haircut_bps + route.haircut_bps) / 10_000) + 1
    assert Decimal(got) - exact <= slack


def test_cross_currency_exposure_is_the_engines_formula() -> None:
    # 1,000 bonds at 0.97 USD, USD at 0.92 EUR, 2% haircut and 1% FX haircut, RP 900 EUR (2 decimals each)
    repo = RepoValue(1, "L", "B", 90_000, 100_000, 97 * ONE // 100, haircut_bps=200, cash_margin=0)
    route = Route(rate=92 * ONE // 100, haircut_bps=100)
    v_c = 100_000 * 97 // 100  # 97,000 cents of USD
    v = v_c * 92 // 100  # 89,240 cents of EUR
    assert exposure(repo, route, Method.B) == 90_000 - v * 9_700 // 10_000
    assert exposure(repo, None, Method.B) == 90_000 - 97_000 * 9_800 // 10_000  # no route: priced in the cash


@settings(max_examples=400, deadline=None)
@given(amount=st.integers(-(10**30), 10**30), rate=st.integers(1, 10**19), f=st.integers(0, 9_999))
def test_conversion_to_base_never_works_against_the_lender(amount: int, rate: int, f: int) -> None:
    conversion = Conversion(rate=rate, haircut_bps=f)
    exact = reference_to_base(amount, conversion)
    got = to_base(amount, conversion)
    assert Decimal(got) >= exact  # owed rounded up, excess shrunk and rounded towards zero
    assert Decimal(got) - exact < 1
    assert to_base(amount, SAME) == amount


# EUR repo against a USD agreement: 1 EUR = 1.10 USD, 1% FX haircut on EUR excess (2-decimal units)
EUR_IN_USD = Conversion(rate=110 * PRICE_SCALE // 100, haircut_bps=100)
TERMS = Terms(threshold=10_000, minimum_transfer=5_000, rounding=1_000, method=Method.B)


def test_threshold_and_mta_edges_on_a_net_across_currencies() -> None:
    # a USD repo owed 100.00 and a EUR repo owed 45.45 EUR = 49.995 USD, rounded up to 50.00: net 150.00 USD,
    # exactly threshold + MTA, which is not a call; one unit more is
    net = net_in_base([(10_000, SAME), (4_545, EUR_IN_USD)])
    assert net == 15_000
    assert call_amount(net, TERMS) == 0
    assert call_amount(net_in_base([(10_001, SAME), (4_545, EUR_IN_USD)]), TERMS) == 6_000  # 5,001 → rounded
    # a EUR excess offsets the USD exposure after the FX haircut: −5,000 EUR = −5,500 USD × 0.99 = −5,445
    assert to_base(-5_000, EUR_IN_USD) == -5_445
    assert call_amount(net_in_base([(20_445, SAME), (-5_000, EUR_IN_USD)]), TERMS) == 0  # 15,000: not passed
    assert call_amount(net_in_base([(20_446, SAME), (-5_000, EUR_IN_USD)]), TERMS) == 6_000
