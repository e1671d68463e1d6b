"""Each rule finds the typology it targets and leaves the near miss alone."""

from dataclasses import replace

from gateway.surveillance.rules import DormantThenLarge, Layering, OffMarket, RoundTrip, Tape, WashTrade, run_rules
from gateway.surveillance.trades import DAY, Side, Trade, Typology

BASE = Trade("t0", 10 * DAY + 9 * 3600, "A", "B", Side.BORROW, 10e6, 350.0, 350.0, 7, 200, "GOV32")


def trade(trade_id: str, minutes: float = 0, **changes: object) -> Trade:
    return replace(BASE, trade_id=trade_id, time=BASE.time + int(minutes * 60), **changes)  # type: ignore[arg-type]


def test_wash_trade_is_the_same_repo_undone() -> None:
    hits = run_rules([WashTrade()], [trade("1"), trade("2", 20, side=Side.LEND, cash=10.01e6)])
    assert [(h.typology, h.trade_ids) for h in hits] == [(Typology.WASH, ("1", "2"))]
    assert not run_rules([WashTrade()], [trade("1"), trade("2", 20, side=Side.LEND, cash=13e6)])  # other size
    assert not run_rules([WashTrade()], [trade("1"), trade("2", 20, side=Side.LEND, collateral="CORP30")])
    assert not run_rules([WashTrade()], [trade("1"), trade("2", 90, side=Side.LEND)])  # outside the hour
    assert not run_rules([WashTrade()], [trade("1"), trade("2", 20)])  # the same way again


def test_round_trip_follows_the_collateral_back() -> None:
    legs = [
        trade("1"),  # A -> B
        trade("2", 30, member="C", counterparty="B", side=Side.LEND),  # B -> C, booked by C
        trade("3", 60, member="C", counterparty="A", side=Side.BORROW),  # C -> A
    ]
    hits = run_rules([RoundTrip()], legs)
    assert [(h.typology, h.trade_ids) for h in hits] == [(Typology.ROUND_TRIP, ("1", "2", "3"))]
    assert not run_rules([RoundTrip()], [*legs[:2], replace(legs[2], counterparty="D")])  # does not come back
    assert not run_rules([RoundTrip()], [*legs[:2], replace(legs[2], collateral="CORP30")])
    assert not run_rules([RoundTrip()], [*legs[:2], replace(legs[2], time=BASE.time + 7 * 3600)])


def test_off_market_against_the_reference() -> None:
    assert run_rules([OffMarket()], [trade("1", rate_bps=450.0)])[0].typology is Typology.OFF_MARKET
    assert run_rules([OffMarket()], [trade("1", rate_bps=200.0)])
    assert not run_rules([OffMarket()], [trade("1", rate_bps=400.0)])
    assert run_rules([OffMarket(max_spread_bps=40)], [trade("1", rate_bps=400.0)])  # configurable


def _history(n: int = 20) -> list[Trade]:
    return [trade(f"h{i}", -DAY / 60 * (i + 1) / 2, counterparty="B") for i in range(n)]


def test_layering_many_small_repos_to_many_counterparties() -> None:
    burst = [trade(f"s{k}", 10 * k, side=Side.LEND, cash=1e6, counterparty=f"X{k % 5}") for k in range(7)]
    hits = run_rules([Layering()], _history() + burst)
    assert hits and hits[-1].typology is Typology.LAYERING and set(hits[-1].trade_ids) == {t.trade_id for t in burst}
    few_counterparties = [replace(t, counterparty=f"X{k % 2}") for k, t in enumerate(burst)]
    assert not run_rules([Layering()], _history() + few_counterparties)
    usual_size = [replace(t, cash=9e6) for t in burst]
    assert not run_rules([Layering()], _history() + usual_size)


def test_dormant_member_returning_large() -> None:
    back = trade("big", 30 * DAY / 60, cash=60e6)
    hits = run_rules([DormantThenLarge()], [*_history(), back])
    assert [(h.typology, h.trade_ids) for h in hits] == [(Typology.DORMANT_THEN_LARGE, ("big",))]
    assert not run_rules([DormantThenLarge()], [*_history(), replace(back, cash=12e6)])  # usual size
    assert not run_rules([DormantThenLarge()], [*_history(), replace(back, time=BASE.time + 3 * DAY)])  # not idle


def test_the_tape_forgets_beyond_its_window() -> None:
    tape = Tape(window_seconds=DAY)
    run_rules([], [trade("1"), trade("2", 2 * DAY / 60)], tape)
    assert [t.trade_id for t in tape.recent] == ["2"]
    assert tape.members["A"].sizes == [10e6, 10e6]  # the member's history stays
