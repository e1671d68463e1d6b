"""The risk watcher's exposure math against a Decimal reference: both GMRA methods, rounding in the lender's
favour by at most one unit, netting per pair, and the threshold + minimum transfer edges of the call decision."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.risk.exposure import (
    Method,
    PairExposure,
    RepoValue,
    Terms,
    call_amount,
    net_by_pair,
    repo_exposure,
    repos_to_call,
)


def reference(repo: RepoValue, method: Method) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 200
        mv = Decimal(repo.collateral_amount) * Decimal(repo.price) / Decimal(10**18)
        h = Decimal(repo.haircut_bps) / Decimal(10_000)
        if method is Method.B:
            return Decimal(repo.repurchase_price) - mv * (1 - h) - Decimal(repo.cash_margin)
        return (Decimal(repo.repurchase_price) - Decimal(repo.cash_margin)) / (1 - h) - mv


repos = st.builds(
    RepoValue,
    repo_id=st.integers(1, 10**6),
    lender=st.just("L"),
    borrower=st.just("B"),
    repurchase_price=st.integers(0, 10**30),
    collateral_amount=st.integers(0, 10**24),
    price=st.integers(0, 10**22),
    haircut_bps=st.integers(0, 9_999),
    cash_margin=st.integers(0, 10**28),
)


@settings(max_examples=400, deadline=None)
@given(repo=repos, method=st.sampled_from(list(Method)))
def test_exposure_matches_decimal_rounded_up_by_at_most_one_unit(repo: RepoValue, method: Method) -> None:
    exact = reference(repo, method)
    got = repo_exposure(repo, method)
    with localcontext() as ctx:
        ctx.prec = 200
        assert got == int(exact.to_integral_value(rounding=ROUND_CEILING))
    assert Decimal(got) >= exact  # never in the borrower's favour
    assert Decimal(got) - exact < 1


def _repo(repo_id: int, lender: str, borrower: str, rp: int, amount: int, price: int) -> RepoValue:
    return RepoValue(repo_id, lender, borrower, rp, amount, price * 10**18, haircut_bps=200, cash_margin=0)


def test_a_known_repo_both_methods() -> None:
    r = _repo(1, "L", "B", rp=1_000_000, amount=1_000, price=1_000)  # MV 1,000,000, h 2%
    assert repo_exposure(r, Method.B) == 20_000  # 1,000,000 − 980,000
    assert repo_exposure(r, Method.A) == 20_409  # 1,000,000 / 0.98 − 1,000,000 = 20,408.16… rounded up


def test_net_by_pair_offsets_a_lenders_repos_with_one_borrower_only() -> None:
    a = _repo(1, "L", "B", 100, 1, 0)
    b = _repo(2, "L", "B", 0, 0, 0)
    c = _repo(3, "L", "C", 50, 0, 0)
    pairs = net_by_pair([(a, 100), (b, -30), (c, 50)])
    assert pairs[("L", "B")] == PairExposure("L", "B", 70, (1, 2))
    assert pairs[("L", "C")].net == 50


def test_call_only_above_threshold_plus_minimum_transfer() -> None:
    terms = Terms(threshold=1_000, minimum_transfer=500, rounding=1, method=Method.B)
    assert call_amount(1_500, terms) == 0  # at the edge: no call
    assert call_amount(1_501, terms) == 501  # one unit over: the exposure above the threshold
    assert call_amount(-5_000, terms) == 0


def test_call_amount_rounded_up_to_the_agreed_step() -> None:
    terms = Terms(threshold=0, minimum_transfer=100, rounding=1_000, method=Method.B)
    assert call_amount(101, terms) == 1_000
    assert call_amount(1_000, terms) == 1_000
    assert call_amount(1_001, terms) == 2_000


def test_repos_to_call_are_those_the_engine_accepts_largest_first() -> None:
    terms = Terms(threshold=0, minimum_transfer=10, rounding=1, method=Method.B)
    pair = PairExposure("L", "B", 300, (1, 2, 3))
    per_repo = {1: 100, 2: 250, 3: -50}
    assert repos_to_call(pair, per_repo, {1: 100, 2: 0, 3: 0}, terms) == (2,)  # repo 1 is at its own MTA
    assert repos_to_call(PairExposure("L", "B", 10, (1,)), {1: 10}, {}, terms) == ()
