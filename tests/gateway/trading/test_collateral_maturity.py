"""Collateral must outlive the repo (the engine does not redeem escrowed bonds): the refusal, the position's flag,
and the issuer's coupon-schedule policy, without a chain."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.db.migrate import upgrade
from gateway.db.session import make_engine, make_session_factory
from gateway.exceptions import InvalidRequest
from gateway.operator.coupons import CouponDates, CouponSchedule, validate_schedule
from gateway.trading import maturity
from gateway.trading.exceptions import CollateralMaturesFirst
from gateway.trading.models import Instrument

BOND = "0x" + "b0" * 20
DAY = 86_400


def test_terms_whose_bond_matures_first_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    with make_session_factory(make_engine(url))() as session:
        session.add(Instrument(address=BOND, kind="bond", symbol="B", name="B", decimals=0, maturity=1_000_000))
        session.commit()
        assert maturity.bond_maturity(session, None, BOND) == 1_000_000  # from the row: no chain asked
        for repo_maturity in (1_000_000, 1_000_001):
            with pytest.raises(CollateralMaturesFirst):
                maturity.require_outlives(session, None, collateral_token=BOND, repo_maturity=repo_maturity)
        maturity.require_outlives(session, None, collateral_token=BOND, repo_maturity=999_999)
        maturity.require_outlives(session, None, collateral_token=BOND, repo_maturity=0)  # open repo: flagged later
        unknown = "0x" + "b1" * 20
        assert maturity.bond_maturity(session, None, unknown) is None
        maturity.require_outlives(session, None, collateral_token=unknown, repo_maturity=5)  # no chain: not known


def test_a_live_repo_is_flagged_within_the_window_or_when_the_bond_matures_first() -> None:
    def needed(live: bool, bond: int | None, repo: int, now: int = 0) -> bool:
        return maturity.flag(
            live=live, collateral_maturity=bond, repo_maturity=repo, now=now, warning_days=7
        ).substitution_needed

    assert needed(True, 7 * DAY, 0)  # open repo, bond matures within the week
    assert not needed(True, 7 * DAY + 1, 0)
    assert needed(True, 30 * DAY, 40 * DAY)  # matures before the repo (a roll that slipped through, an old repo)
    assert not needed(True, 30 * DAY, 20 * DAY)
    assert not needed(False, DAY, 0)  # closed repos need nothing
    assert not needed(True, None, 0) and not needed(True, 0, 0)  # unknown, or no maturity


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_the_issuers_coupon_schedule_policy() -> None:
    def schedule(*pairs: tuple[int, int], periods: int = 2) -> CouponSchedule:
        coupons = [CouponDates(record_date=_at(r), payment_date=_at(p)) for r, p in pairs]
        return CouponSchedule(bond=BOND, coupon_token="0x" + "c0" * 20, periods_per_year=periods, coupons=coupons)

    assert validate_schedule(schedule((100, 110), (200, 210)), bond_maturity=210, now=50) == ([100, 200], [110, 210])
    refused = [
        (schedule((100, 110), periods=3), 1000, 50),  # not 1, 2, 4 or 12
        (schedule((110, 100)), 1000, 50),  # record after payment
        (schedule((100, 200), (150, 250)), 1000, 50),  # paid after the next record date
        (schedule((100, 110)), 1000, 101),  # record date passed
        (schedule((100, 110)), 105, 50),  # paid after the bond's maturity
    ]
    for body, bond_maturity, now in refused:
        with pytest.raises(InvalidRequest):
            validate_schedule(body, bond_maturity=bond_maturity, now=now)
