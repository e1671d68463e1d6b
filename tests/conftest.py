"""Fixtures for every suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def fresh_token_facts() -> Iterator[None]:
    """The gateway remembers each listed token's decimals and maturity per process (gateway.trading.units); tests
    deploy tokens at the same addresses with other decimals, so each test starts without them."""
    yield
    units = sys.modules.get("gateway.trading.units")
    if units is not None:
        units.forget()
