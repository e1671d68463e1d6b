"""Stress arithmetic: each kind of shock moves exactly the repos it names, by exactly its size; the calls follow the
agreement's threshold and minimum transfer; a scenario of no move gives today's figures; borrower-side pairs are
the calls the member would have to meet. Checked against a Decimal reference."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from gateway.risk.exposure import PRICE_SCALE, Method, RepoValue, Terms, call_amount, repo_exposure
from gateway.risk.fx import SAME, Conversion
from gateway.risk.stress import (
    YEAR_SECONDS,
    Collateral,
    PairTerms,
    Role,
    Scenario,
    Shock,
    ShockKind,
    StressRepo,
    ladder,
    price_factor,
    run,
    shocked,
    shocked_conversion,
    shortfall,
)

BUND = Collateral("0xb1", "DE0001102580", "EUR", maturity=10 * YEAR_SECONDS)
TSY = Collateral("0xb2", "US912828ZT00", "USD", maturity=2 * YEAR_SECONDS)
EURT, USDT = "0xc1", "0xc2"
PAR = PRICE_SCALE  # 1 cash unit per collateral unit


def _repo(repo_id: int, collateral: Collateral, *, cash: str = EURT, ccy: str = "EUR", role: Role = Role.LENDER,
          rp: int = 1_000_000, amount: int = 1_100_000, cp: str = "bank-b") -> StressRepo:  # fmt: skip
    value = RepoValue(repo_id, "me", cp, rp, amount, PAR, haircut_bps=500, cash_margin=0)
    return StressRepo(value, role, cp, cash, ccy, collateral)


def test_each_kind_moves_only_what_it_names() -> None:
    bund, tsy_in_eur = _repo(1, BUND), _repo(2, TSY)
    move = (Shock(ShockKind.INSTRUMENT, "0xb1", -1_000),)
    assert price_factor(bund, move, 0) == (9_000, 10_000) and price_factor(tsy_in_eur, move, 0) == (1, 1)
    every = (Shock(ShockKind.INSTRUMENT, "*", -500),)
    assert price_factor(tsy_in_eur, every, 0) == (9_500, 10_000)
    issuer = (Shock(ShockKind.ISSUER, "DE0001", -2_000),)
    assert price_factor(bund, issuer, 0) == (8_000, 10_000) and price_factor(tsy_in_eur, issuer, 0) == (1, 1)
    # USD −10%: a USD bond against EUR cash falls 10%; a EUR bond against USD cash rises by 1/0.9; same currency: flat
    usd = (Shock(ShockKind.CURRENCY, "USD", -1_000),)
    assert price_factor(tsy_in_eur, usd, 0) == (9_000, 10_000)
    assert price_factor(_repo(3, BUND, cash=USDT, ccy="USD"), usd, 0) == (10_000, 9_000)
    assert price_factor(_repo(4, TSY, cash=USDT, ccy="USD"), usd, 0) == (1, 1)
    # rates +100 bps: the 10-year bond −10%, the 2-year −2%, one year later −9% and −1%
    rate = (Shock(ShockKind.RATE, "*", 100),)
    assert shocked(bund, rate, 0).price == PAR * 90 // 100
    assert shocked(tsy_in_eur, rate, 0).price == PAR * 98 // 100
    assert shocked(bund, rate, YEAR_SECONDS).price == PAR * 91 // 100
    assert shocked(tsy_in_eur, (Shock(ShockKind.RATE, "EUR", 100),), 0).price == PAR  # USD bond: not its currency
    assert shocked(bund, (Shock(ShockKind.RATE, "*", 2_000),), 0).price == 0  # never below zero


def test_shocks_compose_and_round_in_the_lenders_favour() -> None:
    repo = _repo(1, BUND)
    both = (Shock(ShockKind.INSTRUMENT, "*", -1_000), Shock(ShockKind.ISSUER, "DE", -1_000))
    assert shocked(repo, both, 0).price == PAR * 81 // 100
    odd = StressRepo(RepoValue(1, "me", "b", 10, 3, 7, 0, 0), Role.LENDER, "b", EURT, "EUR", BUND)
    assert shocked(odd, (Shock(ShockKind.INSTRUMENT, "*", -1),), 0).price == 6  # 6.9993 rounded down


def _reference_exposure(rp: int, amount: int, price_pct: Decimal, haircut_bps: int) -> Decimal:
    mv = Decimal(amount) * price_pct / 100
    return rp - mv * (1 - Decimal(haircut_bps) / 10_000)


def test_calls_and_shortfalls_per_counterparty_match_a_decimal_reference() -> None:
    repos = [
        _repo(1, BUND, rp=1_000_000, amount=1_100_000, cp="b"),
        _repo(2, BUND, rp=500_000, amount=560_000, cp="b"),
        _repo(3, TSY, rp=2_000_000, amount=2_200_000, cp="c"),  # no agreement with c
        _repo(4, BUND, rp=300_000, amount=330_000, cp="d", role=Role.BORROWER),
    ]
    terms = Terms(threshold=50_000, minimum_transfer=10_000, rounding=1_000, method=Method.B)
    agreed = {"b": PairTerms("agr-b", terms, EURT), "d": PairTerms("agr-d", terms, EURT)}
    out = {s.name: s for s in (run(repos, agreed, s, 0) for s in ladder(ShockKind.ISSUER, "DE", [0, -500, -1_000]))}
    flat, ten = out["issuer DE +0bps"], out["issuer DE -1000bps"]
    b_flat = next(p for p in flat.pairs if p.counterparty == "b")
    assert b_flat.exposure_before == b_flat.exposure_after and b_flat.call_before == b_flat.call_after == 0
    b = next(p for p in ten.pairs if p.counterparty == "b")
    expected = _reference_exposure(1_000_000, 1_100_000, Decimal(90), 500) + _reference_exposure(
        500_000, 560_000, Decimal(90), 500
    )
    assert expected == 80_700 and b.exposure_after == 80_700  # exact at these sizes: no rounding to hide in
    assert b.call_after == call_amount(b.exposure_after, terms) == 31_000  # 30,700 above threshold, rounded up
    # rp − 0.9 × amount, no haircut: 1,000,000 − 990,000 and 500,000 − 504,000 (covered: 0)
    assert b.shortfall_after == 10_000 and b.agreement_id == "agr-b" and b.repos == 2
    c = next(p for p in ten.pairs if p.counterparty == "c")
    assert c.agreement_id is None and c.exposure_after == c.exposure_before  # the US bond is not shocked
    d = next(p for p in ten.pairs if p.counterparty == "d")
    assert d.role is Role.BORROWER and ten.calls_to_meet[EURT] == d.call_after
    assert ten.calls_to_make[EURT] == b.call_after + c.call_after
    assert ten.shortfall[EURT] == b.shortfall_after + c.shortfall_after


def test_without_a_fresh_rate_into_the_base_a_repo_stays_under_the_engines_rule() -> None:
    terms = Terms(threshold=10**12, minimum_transfer=0, rounding=1, method=Method.A)
    repos = [_repo(1, BUND, cash=USDT, ccy="USD", cp="b", amount=900_000)]
    result = run(repos, {"b": PairTerms("agr", terms, EURT)}, Scenario("none", ()), 0)  # no USD→EUR rate known
    (pair,) = result.pairs
    assert pair.agreement_id is None and pair.cash_token == USDT and pair.call_after == pair.exposure_after > 0
    assert shortfall(repos[0].value) == 100_000


def test_a_pair_nets_across_currencies_in_the_agreements_base_as_the_service_does() -> None:
    """A EUR repo owed 11,050 and a USD repo 70,000 in excess, under a EUR agreement with USD at 0.90 EUR and a 2%
    FX haircut: the excess offsets after the haircut (70,000 × 0.90 × 0.98 = 61,740), so no call; after a shock
    every figure is the Decimal reference's within a unit, rounded for the lender; shortfalls are in EUR too."""
    usd_in_eur = Conversion(rate=PRICE_SCALE * 9 // 10, haircut_bps=200)
    terms = Terms(threshold=1_000, minimum_transfer=500, rounding=1, method=Method.B)
    agreed = {"b": PairTerms("agr", terms, EURT, base_iso="EUR", rates={USDT: usd_in_eur})}
    eur = _repo(1, BUND, cp="b", rp=1_000_000, amount=1_041_000)  # at 5%: 1,000,000 − 988,950 owed
    usd = _repo(2, BUND, cash=USDT, ccy="USD", cp="b", rp=500_000, amount=600_000)  # valued in USD (route folded)
    assert [repo_exposure(r.value, Method.B) for r in (eur, usd)] == [11_050, -70_000]

    def in_eur(amount: Decimal, rate: Decimal) -> Decimal:
        return amount * rate if amount >= 0 else amount * rate * Decimal("0.98")

    def check(got: int, expected: Decimal) -> None:
        assert expected <= got < expected + 2, (got, expected)  # never below the exact figure (the lender's side)

    (flat,) = run([eur, usd], agreed, Scenario("none", ()), 0).pairs
    assert (flat.cash_token, flat.agreement_id, flat.repos) == (EURT, "agr", 2)
    check(flat.exposure_before, 11_050 + in_eur(Decimal(-70_000), Decimal("0.9")))  # −50,690
    assert flat.call_before == 0

    # USD −10%: the EUR bond is worth 1/0.9 more in USD, and a dollar 0.81 EUR
    usd_down = run([eur, usd], agreed, Scenario("usd", (Shock(ShockKind.CURRENCY, "USD", -1_000),)), 0)
    (pair,) = usd_down.pairs
    usd_after = 500_000 - Decimal(600_000) / Decimal("0.9") * Decimal("0.95")
    check(pair.exposure_after, 11_050 + in_eur(usd_after, Decimal("0.81")))

    # every collateral −10%: both repos owed; a call in EUR, the shortfalls converted
    down = run([eur, usd], agreed, Scenario("-10%", (Shock(ShockKind.INSTRUMENT, "*", -1_000),)), 0)
    (pair,) = down.pairs
    eur_after = 1_000_000 - Decimal(1_041_000) * Decimal("0.9") * Decimal("0.95")
    usd_after = 500_000 - Decimal(600_000) * Decimal("0.9") * Decimal("0.95")
    check(pair.exposure_after, eur_after + in_eur(usd_after, Decimal("0.9")))
    assert pair.call_after == call_amount(pair.exposure_after, terms) > 0
    assert down.calls_to_make == {EURT: pair.call_after}
    check(pair.shortfall_after, (1_000_000 - Decimal(936_900)) + Decimal(500_000 - 540_000).max(0) * Decimal("0.9"))


def test_a_currency_shock_moves_the_conversion_into_the_base() -> None:
    rate = Conversion(rate=PRICE_SCALE, haircut_bps=0)
    down = (Shock(ShockKind.CURRENCY, "USD", -1_000),)
    assert shocked_conversion(rate, "USD", "EUR", down).rate == PRICE_SCALE * 9 // 10  # the cash's currency falls
    assert shocked_conversion(rate, "EUR", "USD", down).rate == PRICE_SCALE * 10 // 9  # the base's: the inverse
    assert shocked_conversion(rate, "EUR", "GBP", down) == rate  # neither
    assert shocked_conversion(SAME, "USD", "USD", down) == SAME


def test_the_agreements_eligible_schedule_haircuts_apply_as_the_live_service_nets() -> None:
    """A Bund at the schedule's 10% (the repo's own is 5%), a Treasury the schedule does not list counting for
    nothing; the shortfall stays at market value (no haircut)."""
    from gateway.risk.eligibility import Eligible

    schedule = (Eligible("bunds", ("DE0001",), "EUR", 1_000),)
    terms = Terms(threshold=0, minimum_transfer=0, rounding=1, method=Method.B)
    agreed = {"b": PairTerms("agr", terms, EURT, schedule)}
    bund = run([_repo(1, BUND, cp="b")], agreed, Scenario("-10%", (Shock(ShockKind.INSTRUMENT, "*", -1_000),)), 0)
    (pair,) = bund.pairs
    assert pair.exposure_before == 1_000_000 - 1_100_000 * 9 // 10  # 10,000: the schedule's 10%, not the repo's 5%
    assert pair.exposure_after == 1_000_000 - 990_000 * 9 // 10
    assert pair.call_after == pair.exposure_after and pair.shortfall_after == 10_000
    tsy = run([_repo(2, TSY, cp="b")], agreed, Scenario("none", ()), 0)
    assert tsy.pairs[0].exposure_before == 1_000_000  # not eligible: the whole repurchase price is exposed
    method_a = {"b": PairTerms("agr", replace(terms, method=Method.A), EURT, schedule)}
    tsy_a = run([_repo(2, TSY, cp="b")], method_a, Scenario("-10%", (Shock(ShockKind.INSTRUMENT, "*", -1_000),)), 0)
    assert tsy_a.pairs[0].exposure_after == -((-1_000_000 * 10_000) // 9_500)  # RP × margin ratio, nothing held
