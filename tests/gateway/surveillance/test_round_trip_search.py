"""The round-trip rule's search: the same answers as a plain depth-first search over the tape, without searching
a busy market's legs to the power of the depth when the collateral cannot come back."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.surveillance.rules import RoundTrip, Tape
from gateway.surveillance.trades import DAY, Hit, Side, Trade, Typology

BASE = Trade("t0", 10 * DAY, "A", "B", Side.BORROW, 1e6, 350.0, 350.0, 7, 200, "GOV32")


def plain_path(legs: list[Trade], start: str, goal: str, depth: int, seen: tuple[str, ...]) -> list[Trade] | None:
    """The rule's search without pruning: every leg out of ``start``, in tape order, recursively."""
    if depth <= 0:
        return None
    for leg in legs:
        if leg.seller != start:
            continue
        if leg.buyer == goal:
            return [leg]
        if leg.buyer in seen:
            continue
        rest = plain_path([t for t in legs if t.time >= leg.time], leg.buyer, goal, depth - 1, (*seen, leg.buyer))
        if rest is not None:
            return [leg, *rest]
    return None


def plain_check(rule: RoundTrip, trade: Trade, tape: Tape) -> tuple[str, ...] | None:
    legs = [
        t
        for t in tape.since(trade.time - rule.window_seconds)
        if t.collateral == trade.collateral
        and abs(t.cash - trade.cash) <= rule.cash_tolerance * max(t.cash, trade.cash)
    ]
    path = plain_path(legs, trade.buyer, trade.seller, rule.max_legs - 1, (trade.seller,))
    if path is None or len(path) < 2:
        return None
    return (*(t.trade_id for t in path), trade.trade_id)


MEMBERS = "ABCDEF"
leg_strategy = st.tuples(
    st.sampled_from(MEMBERS), st.sampled_from(MEMBERS), st.integers(0, 8 * 3600), st.sampled_from([1e6, 1.01e6, 2e6])
).filter(lambda t: t[0] != t[1])


@settings(max_examples=300, deadline=None)
@given(st.lists(leg_strategy, min_size=1, max_size=14), st.integers(2, 5))
def test_the_search_finds_what_a_plain_search_finds(raw: list[tuple[str, str, int, float]], max_legs: int) -> None:
    """Trade by trade in time order, the rule hits exactly where the plain search does, on the same legs."""
    rule = RoundTrip(max_legs=max_legs)
    trades = sorted(
        (
            replace(BASE, trade_id=f"t{i}", member=seller, counterparty=buyer, time=BASE.time + at, cash=cash)
            for i, (seller, buyer, at, cash) in enumerate(raw)
        ),
        key=lambda t: (t.time, t.trade_id),
    )
    tape = Tape()
    for trade in trades:
        hit = rule.check(trade, tape)
        assert (hit.trade_ids if hit is not None else None) == plain_check(rule, trade, tape)
        tape.add(trade)


def busy_market(members: int, legs_per_pair: int) -> list[Trade]:
    """Every member lends to the next few, all within the hour, for the same cash against the same bond: paths
    everywhere, but each repo between ring neighbours only one way."""
    out: list[Trade] = []
    for k in range(legs_per_pair):
        for m in range(members):
            for step in (1, 2, 3):
                seller, buyer = f"M{m}", f"M{(m + step) % members}"
                out.append(replace(BASE, trade_id=f"{seller}-{buyer}-{k}", member=seller, counterparty=buyer,
                                   time=BASE.time + len(out)))  # fmt: skip
    return out


def test_a_busy_market_without_a_way_back_is_not_searched_exhaustively(monkeypatch: pytest.MonkeyPatch) -> None:
    """780 legs among 20 members; the new trade's seller is a member no leg ever delivers to, so no path can come
    back. Without pruning the search follows every chain of up to four legs out of the buyer (tens of thousands of
    branches, each copying the legs)."""
    tape = Tape()
    for trade in busy_market(20, 13):
        tape.add(trade)
    calls = 0
    search = RoundTrip._path

    def counted(self: RoundTrip, *args: object, **kwargs: object) -> list[Trade] | None:
        nonlocal calls
        calls += 1
        if calls > 10_000:
            raise AssertionError("the search explored more than 10,000 branches")
        return search(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RoundTrip, "_path", counted)
    newcomer = replace(BASE, trade_id="newcomer", member="SRC", counterparty="M7", time=BASE.time + 10_000)
    assert RoundTrip().check(newcomer, tape) is None
    assert calls == 1  # no leg out of M7 lands anywhere that leads to SRC
    back = replace(newcomer, trade_id="back", member="M0", counterparty="M16")  # M16 -> M19 -> M0 round the ring
    found = RoundTrip().check(back, tape)
    assert isinstance(found, Hit) and found.typology is Typology.ROUND_TRIP
    assert found.trade_ids[-1] == "back" and len(found.trade_ids) >= 3
    assert found.trade_ids == plain_check(RoundTrip(), back, tape)
