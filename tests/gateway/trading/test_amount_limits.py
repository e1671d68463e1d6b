"""Terms the engine would refuse are refused at the API: a minimum transfer amount past the engine's 96-bit field is a
422 naming the field and the limit, not a signed trade that reverts at open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.db.models import Role
from gateway.trading.money import MAX_MIN_TRANSFER_UNITS, from_units, to_units
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, custodial_wallet, list_instrument, market_world

CASH_DECIMALS = 6


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", CASH_DECIMALS, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def body(wallet_id: str, min_transfer: str) -> dict[str, Any]:
    return {
        "seller_wallet_id": wallet_id,
        "cash_token": CASH,
        "collateral_token": BOND,
        "purchase_price": "1000",
        "collateral_amount": "1100",
        "tenor_seconds": 3600,
        "min_transfer_amount": min_transfer,
    }


def test_min_transfer_past_the_engine_limit_is_422_and_at_it_is_accepted(world: World) -> None:
    a = world.user("a", Role.TRADER, "at")
    wallet = custodial_wallet(a)
    limit = from_units(MAX_MIN_TRANSFER_UNITS, CASH_DECIMALS)
    over = from_units(MAX_MIN_TRANSFER_UNITS + 1, CASH_DECIMALS)

    refused = world.client.post("/v1/rfqs", json=body(wallet["id"], over), headers=a.headers)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"].endswith("amount-too-large") and limit in problem["detail"]

    accepted = world.client.post("/v1/rfqs", json=body(wallet["id"], limit), headers=a.headers)
    assert accepted.status_code == 201, accepted.text


def test_amounts_past_28_digits_convert_exactly() -> None:
    # 29 significant digits: the default decimal context would round this to the nearest ten units.
    assert to_units(from_units(MAX_MIN_TRANSFER_UNITS - 1, 6), 6, field="x") == MAX_MIN_TRANSFER_UNITS - 1
    assert to_units(from_units(2**128 - 1, 18), 18, field="x") == 2**128 - 1
