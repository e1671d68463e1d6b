"""scripts/gas_report.py measures every lifecycle step (it is the source of the gas table in the notes)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from gas_report import measure  # type: ignore[import-not-found]

STEPS = {
    "open (EOA signatures)",
    "open (steady state: parties and bond seen before)",
    "open (steady state, fresh nonce words as the gateway draws them)",
    "callMargin",
    "postMargin (collateral)",
    "postMargin (cash, cures the call)",
    "withdrawExcess",
    "substitute",
    "amend (roll)",
    "amend (re-rate)",
    "repurchaseEarly",
    "position transfer (ERC-721)",
    "terminate (open repo notice)",
    "repurchase",
    "declareDefault",
    "closeOut",
    "payCoupon (to the seller)",
}


@pytest.mark.slow
def test_gas_report_covers_every_lifecycle_step() -> None:
    gas = measure()
    assert set(gas) == STEPS
    assert all(21_000 < used < 1_000_000 for used in gas.values()), gas
