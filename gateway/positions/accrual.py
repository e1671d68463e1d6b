"""The engine's formulas in integers (IRepoEngine NatSpec), for views that must not call the chain per row."""

from __future__ import annotations

PRICE_SCALE = 10**18
BPS = 10_000


def _ceil_div(n: int, d: int) -> int:
    """Toward +infinity for both signs."""
    return -((-n) // d)


def price_differential(*, purchase_price: int, rate: int, basis: int, start: int, maturity: int, at: int) -> int:
    end = min(at, maturity) if maturity else at
    elapsed = max(0, end - start)
    return _ceil_div(purchase_price * rate * elapsed, basis * 86_400 * 10**18)


def repurchase_price(
    *, purchase_price: int, rate: int, basis: int, period_start: int, maturity: int, crystallized_pd: int, at: int
) -> int:
    pd = price_differential(
        purchase_price=purchase_price,
        rate=rate,
        basis=basis,
        start=period_start,
        maturity=maturity,
        at=max(at, period_start),
    )
    return max(0, purchase_price + crystallized_pd + pd)


def market_value(amount: int, price: int) -> int:
    return amount * price // PRICE_SCALE


def haircut_value(value: int, haircut_bps: int) -> int:
    return value * (BPS - haircut_bps) // BPS


def margin_status(*, status: str, exposure: int, threshold: int) -> str:
    if status != "open":
        return status
    if exposure > threshold:
        return "margin_call_possible"
    if -exposure > threshold:
        return "excess_withdrawable"
    return "ok"
