"""Exact conversions between the API's decimal strings and integers in smallest units (no floats anywhere)."""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation
from typing import Final

from gateway.exceptions import InvalidRequest
from gateway.trading.exceptions import AmountTooLarge

WAD: Final = 10**18
BPS: Final = 10_000
# Amounts reach 2^128 smallest units (39 digits): scale them exactly, not in the default context's 28 digits.
_EXACT: Final = Context(prec=100)
# The engine's storage bound for a repo's minimum transfer amount, in smallest units (RepoEngine: 96 bits).
MAX_MIN_TRANSFER_UNITS: Final = 2**96 - 1


def parse_decimal(value: str, *, field: str) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        raise InvalidRequest(f"{field}: not a decimal number", field=field) from None
    if not number.is_finite():
        raise InvalidRequest(f"{field}: not a finite number", field=field)
    return number


def to_units(value: str, decimals: int, *, field: str, signed: bool = False, maximum: int | None = None) -> int:
    """``"1000000.50"`` with 6 decimals -> 1000000500000; more precision than the token has is refused, and so is
    more than ``maximum`` smallest units (:class:`AmountTooLarge`, 422)."""
    number = parse_decimal(value, field=field)
    scaled = number.scaleb(decimals, context=_EXACT)
    if scaled != scaled.to_integral_value(context=_EXACT):
        raise InvalidRequest(f"{field}: at most {decimals} decimal places", field=field)
    units = int(scaled)
    if units < 0 and not signed:
        raise InvalidRequest(f"{field}: must not be negative", field=field)
    if maximum is not None and units > maximum:
        raise AmountTooLarge(f"{field}: at most {from_units(maximum, decimals)} (the engine's limit)", field=field)
    return units


def min_transfer_units(value: str, decimals: int) -> int:
    """A repo's minimum transfer amount in smallest units, within what the engine stores."""
    return to_units(value, decimals, field="min_transfer_amount", maximum=MAX_MIN_TRANSFER_UNITS)


def from_units(units: int, decimals: int) -> str:
    """1000000500000 with 6 decimals -> ``"1000000.500000"`` (always ``decimals`` places)."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}" if decimals else f"{sign}{whole}"


def rate_to_wad(value: str, *, field: str = "rate") -> int:
    """An annual rate as a decimal fraction (``"0.035"`` = 3.5 %) -> 1e18 scale, signed."""
    return to_units(value, 18, field=field, signed=True)


def wad_to_rate(wad: int) -> str:
    return from_units(wad, 18).rstrip("0").rstrip(".") or "0"
