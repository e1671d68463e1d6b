"""Concentration: collateral value per issuer (ISIN prefix) and net exposure per counterparty, per cash token and
side, with shares in basis points that add up to the whole; the route answers a member's own (empty) book."""

from __future__ import annotations

from gateway.risk.concentration import by_counterparty, by_issuer
from gateway.risk.exposure import PRICE_SCALE, RepoValue
from gateway.risk.stress import Collateral, Role, StressRepo
from tests.gateway.conftest import Cast

USD, EUR = "0x" + "0a" * 20, "0x" + "0b" * 20


def _repo(repo_id: int, isin: str | None, cp: str, amount: int, rp: int, role: Role = Role.LENDER,
          cash: str = USD) -> StressRepo:  # fmt: skip
    value = RepoValue(repo_id, "me", cp, rp, amount, PRICE_SCALE, 0, 0)  # price 1: MV = amount
    collateral = Collateral(address=f"0x{repo_id:040x}", isin=isin, currency="USD", maturity=None)
    return StressRepo(value, role, cp, cash, "USD", collateral)


BOOK = [
    _repo(1, "US0000000011", "cp1", 600, 650),  # issuer US000000, exposure +50
    _repo(2, "US0000000029", "cp1", 200, 150),  # same issuer, exposure -50: cp1 nets to 0
    _repo(3, "DE0001102580", "cp2", 200, 300),  # exposure +100
    _repo(4, None, "cp2", 1000, 0, role=Role.BORROWER),  # no ISIN: its own issuer; the other side
    _repo(5, "DE0001102580", "cp3", 500, 400, cash=EUR),  # another cash token: its own totals
]


def test_issuer_shares_per_token_and_side() -> None:
    usd_lender = [b for b in by_issuer(BOOK) if b.cash_token == USD and b.role is Role.LENDER]
    assert [(b.key, b.collateral_value, b.share_bps, b.repos) for b in usd_lender] == [
        ("US000000", 800, 8_000, 2),
        ("DE000110", 200, 2_000, 1),
    ]
    borrowed = [b for b in by_issuer(BOOK) if b.role is Role.BORROWER]
    assert [(b.key, b.share_bps) for b in borrowed] == [(f"0x{4:040x}", 10_000)]
    two = [
        (b.key, b.share_bps)
        for b in by_issuer(BOOK, issuer_chars=2)
        if b.cash_token == USD and b.role.value == "lender"
    ]
    assert two == [("US", 8_000), ("DE", 2_000)]


def test_counterparty_shares_of_positive_exposure() -> None:
    usd_lender = [b for b in by_counterparty(BOOK) if b.cash_token == USD and b.role is Role.LENDER]
    assert [(b.key, b.exposure, b.share_bps) for b in usd_lender] == [("cp2", 100, 10_000), ("cp1", 0, 0)]
    eur = [b for b in by_counterparty(BOOK) if b.cash_token == EUR]
    assert [(b.key, b.exposure, b.share_bps) for b in eur] == [("cp3", -100, 0)]


def test_the_route_answers_the_members_own_book(cast: Cast) -> None:
    answer = cast.a_viewer.get("/v1/risk/concentration")
    assert answer.status_code == 200, answer.text
    assert answer.json()["by_issuer"] == [] and answer.json()["issuer_chars"] == 8
