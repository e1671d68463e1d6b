"""Amount and price conversions of the operator CLI and the demo."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.ops.chain import from_units, price_to_raw, raw_to_price, to_units


def test_amounts_are_exact() -> None:
    assert to_units("1000.5", 6) == 1_000_500_000
    assert to_units("0.000001", 6) == 1
    assert from_units(1_000_500_000, 6) == "1000.500000"
    with pytest.raises(ValueError, match="decimals"):
        to_units("0.0000001", 6)
    with pytest.raises(ValueError, match="negative"):
        to_units("-1", 6)


def test_price_in_percent_of_par_is_the_oracles_smallest_unit_ratio() -> None:
    # Equal decimals: 98.5% of par is 0.985 cash units per bond unit, with 18 decimals.
    assert price_to_raw("98.5", 6, 6) == 985 * 10**15
    # A bond with 0 decimals (one unit = 1 nominal) priced in 6-decimal cash.
    assert price_to_raw("100", 0, 6) == 10**6 * 10**18
    assert raw_to_price(price_to_raw("96.125", 6, 2), 6, 2) == Decimal("96.125")
