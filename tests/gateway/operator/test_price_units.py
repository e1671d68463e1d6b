"""One price unit everywhere, named in the field: percent of par. The API refuses the old cash-per-unit field, so
the demo's "100" can no longer value a bond at 100 times par."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.db.models import Role
from gateway.exceptions import InvalidRequest
from gateway.operator.prices import from_raw, to_raw
from gateway.trading.models import Instrument
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, call, list_instrument, market_world, step_up

BOND_ROW = Instrument(address=BOND, kind="bond", symbol="DBR35", name="DBR35", decimals=2)
CASH_ROW = Instrument(address=CASH, kind="cash", symbol="EURD", name="EURD", decimals=6)


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def test_percent_of_par_is_the_oracles_ratio_of_smallest_units() -> None:
    # par: one bond unit (0.01 nominal at 2 decimals) is worth 0.01 cash (10,000 smallest units at 6 decimals)
    assert to_raw(Decimal(100), BOND_ROW, CASH_ROW) == 10_000 * 10**18
    assert to_raw(Decimal("98.75"), BOND_ROW, CASH_ROW) == 9_875 * 10**18
    assert from_raw(9_875 * 10**18, BOND_ROW, CASH_ROW) == Decimal("98.75")
    with pytest.raises(InvalidRequest):
        to_raw(Decimal(0), BOND_ROW, CASH_ROW)


def test_the_api_takes_percent_of_par_by_name_only(world: World) -> None:
    admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
    step_up(admin)
    cash_per_unit = call(admin, "/v1/operator/prices", {"asset": BOND, "quote": CASH, "price": "100"})
    assert cash_per_unit.status_code == 422
    wrong_kind = call(admin, "/v1/operator/prices", {"asset": CASH, "quote": BOND, "price_percent_of_par": "98"})
    assert wrong_kind.status_code == 404  # the asset must be a listed bond, the quote a listed cash token
