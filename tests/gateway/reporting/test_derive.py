"""Field mapping: each engine event becomes one record with its SFTR action and the terms as they stood after it."""

from datetime import UTC, date, datetime

from gateway.reporting.derive import PricePoint, records_of
from gateway.reporting.records import ActionType, Side
from tests.gateway.reporting.factories import (
    BOND,
    BOND2,
    BUYER_LEI,
    CASH,
    DAY,
    INSTRUMENTS,
    PARTIES,
    PRICES,
    SELLER_LEI,
    T0,
    event,
    lifecycle,
)


def _day(seconds: int) -> date:
    return datetime.fromtimestamp(seconds, UTC).date()


def test_every_lifecycle_event_maps_to_its_action_type() -> None:
    records = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES)
    assert [(r.event, r.action_type) for r in records] == [
        ("RepoOpened", ActionType.NEWT),
        ("MarginCalled", ActionType.VALU),
        ("MarginPosted", ActionType.COLU),
        ("MarginCallCured", ActionType.VALU),
        ("CollateralSubstituted", ActionType.COLU),
        ("RepoRerated", ActionType.MODI),
        ("RepoRepurchased", ActionType.ETRM),
    ]  # the nonce cancellation changes no reported field


def test_new_trade_fields() -> None:
    new = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES)[0]
    assert (new.reporting_counterparty, new.other_counterparty, new.counterparty_side) == (
        SELLER_LEI,
        BUYER_LEI,
        Side.GIVE,
    )
    assert new.execution_timestamp == datetime.fromtimestamp(T0, UTC)
    assert new.value_date == new.event_date == _day(T0)
    assert new.maturity_date == _day(T0 + 7 * DAY) and new.termination_date is None
    assert (new.cash_currency, new.principal_amount) == ("EUR", "1000000.000000")
    assert new.fixed_rate == "3.5000000000000000" and new.day_count == "A360"
    assert (new.collateral_isin, new.collateral_quantity, new.collateral_currency) == ("DE0001102580", "1050", "EUR")
    assert new.collateral_price == "980.000000"
    assert new.collateral_market_value == "1029000.000000"  # 1,050 bonds at 980
    assert new.haircut == "2.00" and new.cash_margin == "0.000000"


def test_later_records_carry_the_terms_after_their_event() -> None:
    records = records_of(PARTIES, lifecycle(), side=Side.TAKE, instruments=INSTRUMENTS, prices=PRICES)
    by_event = {r.event: r for r in records}
    assert by_event["MarginCalled"].margin_call_outstanding == "5000.000000"
    assert by_event["MarginPosted"].cash_margin == "5000.000000"
    assert by_event["MarginPosted"].margin_call_outstanding == "0.000000"
    sub = by_event["CollateralSubstituted"]
    assert (sub.collateral_isin, sub.collateral_quantity, sub.collateral_market_value) == (
        "FR0013508470",
        "1100",
        "1089000.000000",
    )
    assert by_event["RepoRerated"].fixed_rate == "4.0000000000000000"
    end = by_event["RepoRepurchased"]
    assert end.termination_date == _day(T0 + 7 * DAY) and end.counterparty_side is Side.TAKE
    assert (end.reporting_counterparty, end.other_counterparty) == (BUYER_LEI, SELLER_LEI)


def test_open_term_and_unpriced_collateral() -> None:
    opened = lifecycle()[0]
    open_term = event("RepoOpened", 1, T0, **{**opened.args, "maturity": "0"})
    [new] = records_of(PARTIES, [open_term], side=Side.GIVE, instruments=INSTRUMENTS, prices={})
    assert new.maturity_date is None
    assert new.collateral_price == "" and new.collateral_market_value == ""


def test_a_repo_whose_opening_was_not_indexed_is_not_reported() -> None:
    assert records_of(PARTIES, lifecycle()[1:], side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES) == []


def test_collateral_is_valued_at_the_price_of_its_event_not_todays() -> None:
    """The bond was 980 when the repo opened (block 1, log 0), then 970 and 950 later in that block; today it is 900.
    Each record takes the last price before its event in chain order; a pair whose history starts after an event
    has no price then."""
    unit = 10**6 * 10**18  # one EUR a bond, 1e18 per smallest unit
    history = {
        (BOND, CASH): [PricePoint(0, 3, 980 * unit), PricePoint(1, 1, 970 * unit), PricePoint(1, 2, 950 * unit)],
        (BOND2, CASH): [PricePoint(7, 0, 995 * unit)],
    }
    today = {(BOND, CASH): 900 * unit, (BOND2, CASH): 901 * unit}
    records = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=today, history=history)
    prices = [(r.event, r.collateral_price) for r in records]
    assert prices == [
        ("RepoOpened", "980.000000"),
        ("MarginCalled", "950.000000"),
        ("MarginPosted", "950.000000"),
        ("MarginCallCured", "950.000000"),
        ("CollateralSubstituted", ""),  # BOND2 had no price yet at block 5
        ("RepoRerated", ""),
        ("RepoRepurchased", "995.000000"),
    ]
    assert records[0].collateral_market_value == "1029000.000000"  # 1,050 bonds at 980, not at 900
    # without any history kept for a pair (prices followed before it was), its latest price stands in
    assert records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=today)[
        0
    ].collateral_price == ("900.000000")
