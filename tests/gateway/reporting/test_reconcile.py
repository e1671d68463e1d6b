"""Reconciliation: pairing by UTI, crosswise parties, tolerances, and every kind of break."""

from dataclasses import replace

from gateway.reporting.derive import records_of
from gateway.reporting.reconcile import BreakKind, reconcile
from gateway.reporting.records import ReportRecord, Side
from tests.gateway.reporting.factories import INSTRUMENTS, PARTIES, PRICES, lifecycle


def _sides() -> tuple[list[ReportRecord], list[ReportRecord]]:
    give = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES)
    take = records_of(PARTIES, lifecycle(), side=Side.TAKE, instruments=INSTRUMENTS, prices=PRICES)
    return give, take


def test_the_two_sides_of_one_repo_match() -> None:
    give, take = _sides()
    result = reconcile(give, take)
    assert (result.paired, result.matched, result.breaks) == (1, 1, [])


def test_differences_within_tolerance_are_not_breaks() -> None:
    give, take = _sides()
    last = take[-1]
    nudged = replace(
        last, fixed_rate="4.00005", collateral_market_value="1089400.000000", principal_amount="1000000.01"
    )
    assert reconcile(give, [*take[:-1], nudged]).breaks == []


def test_field_breaks_are_listed_with_both_values() -> None:
    give, take = _sides()
    last = take[-1]
    wrong = replace(
        last,
        fixed_rate="4.01",
        collateral_market_value="1100000.000000",  # 1 % off: beyond 0.05 %
        collateral_isin="DE0001102580",
        counterparty_side=Side.GIVE,
        maturity_date=None,
    )
    result = reconcile(give, [*take[:-1], wrong])
    assert result.paired == 1 and result.matched == 0
    found = {(b.kind, b.field): (b.ours, b.theirs) for b in result.breaks}
    assert found == {
        (BreakKind.FIELD, "fixed_rate"): ("4.0000000000000000", "4.01"),
        (BreakKind.FIELD, "collateral_market_value"): ("1089000.000000", "1100000.000000"),
        (BreakKind.FIELD, "collateral_isin"): ("FR0013508470", "DE0001102580"),
        (BreakKind.FIELD, "counterparty_side"): ("GIVE", "GIVE"),
        (BreakKind.FIELD, "maturity_date"): (give[-1].maturity_date.isoformat(), ""),  # type: ignore[union-attr]
    }


def test_unpaired_utis_and_swapped_parties_are_breaks() -> None:
    give, take = _sides()
    other_repo = [replace(r, uti=r.uti[:-1] + "Z") for r in take]
    result = reconcile(give, other_repo)
    assert {b.kind for b in result.breaks} == {BreakKind.ONLY_OURS, BreakKind.ONLY_THEIRS} and result.paired == 0
    same_lei = [replace(r, reporting_counterparty=r.other_counterparty) for r in take]
    fields = {b.field for b in reconcile(give, same_lei).breaks}
    assert fields == {"other_counterparty"}


def test_pairs_on_the_latest_record_of_each_side() -> None:
    give, take = _sides()
    result = reconcile(give, take[:1])  # they have reported the opening only: terms have moved on since
    assert result.paired == 1 and {b.field for b in result.breaks} >= {"fixed_rate", "collateral_isin"}
