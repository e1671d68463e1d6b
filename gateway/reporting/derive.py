"""From a repo's indexed engine events to its report records: the events are replayed in chain order, so each
record carries the repo's terms as they stood right after its event (the ``repos`` row has only the latest).

Which event is which action (field 2.98): ``RepoOpened`` NEWT; re-rate, roll, termination notice and default
MODI; a margin call or its cure VALU (a new valuation made it); margin posted, excess withdrawn and collateral
substituted COLU; repurchase (early or at maturity) and close-out ETRM. Nonce cancellations and shortfall
records change no reported field and make no record. Collateral is valued at the oracle's price as it stood at the
event (the last price posted before the event in chain order), not at today's."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from gateway.reporting.records import ActionType, CollateralType, ReportRecord, Side
from gateway.reporting.uti import make_uti, validate_lei
from gateway.trading.money import from_units

PRICE_SCALE = 10**18
RATE_PERCENT_DECIMALS = 16  # the engine's rate is a fraction scaled 1e18: percent has 16 decimals
NO_CURRENCY = "XXX"  # ISO 4217's code for "no currency"

ACTIONS: dict[str, ActionType] = {
    "RepoOpened": ActionType.NEWT,
    "RepoRerated": ActionType.MODI,
    "RepoRolled": ActionType.MODI,
    "RepoTerminationNoticed": ActionType.MODI,
    "RepoDefaulted": ActionType.MODI,
    "MarginCalled": ActionType.VALU,
    "MarginCallCured": ActionType.VALU,
    "MarginPosted": ActionType.COLU,
    "ExcessWithdrawn": ActionType.COLU,
    "CollateralSubstituted": ActionType.COLU,
    "RepoRepurchased": ActionType.ETRM,
    "RepoClosedOut": ActionType.ETRM,
}


@dataclass(frozen=True)
class Instrument:
    address: str  # lower case
    decimals: int
    currency: str | None
    isin: str | None


@dataclass(frozen=True)
class EngineEvent:
    """An indexed engine event: its name, its arguments (integers as decimal strings) and where it is on chain."""

    name: str
    args: Mapping[str, object]
    block_number: int
    block_time: int
    log_index: int
    tx_hash: str


@dataclass(frozen=True)
class RepoParties:
    """What the events do not carry: the two LEIs at opening and the terms fixed for the repo's life."""

    repo_id: int
    seller_lei: str
    buyer_lei: str
    haircut_bps: int
    day_count_basis: int


@dataclass(frozen=True)
class _State:
    cash_token: str
    purchase_price: int
    collateral_token: str
    collateral_amount: int
    rate: int
    maturity: int
    cash_margin: int = 0
    call_outstanding: int = 0
    terminated_at: int | None = None


def _int(args: Mapping[str, object], key: str) -> int:
    return int(str(args[key]))


def _addr(args: Mapping[str, object], key: str) -> str:
    return str(args[key]).lower()


def _day(seconds: int) -> date:
    return datetime.fromtimestamp(seconds, UTC).date()


def _apply(state: _State, event: EngineEvent) -> _State:
    a = event.args
    match event.name:
        case "RepoRerated":
            return replace(state, rate=_int(a, "newRate"))
        case "RepoRolled":
            return replace(state, maturity=_int(a, "newMaturity"))
        case "RepoTerminationNoticed":
            return replace(state, maturity=_int(a, "maturity"))
        case "MarginCalled":
            return replace(state, call_outstanding=_int(a, "amount"))
        case "MarginPosted":
            return replace(
                state,
                collateral_amount=state.collateral_amount + _int(a, "collateralAmount"),
                cash_margin=state.cash_margin + _int(a, "cashAmount"),
                call_outstanding=_int(a, "outstandingCall"),
            )
        case "MarginCallCured":
            return replace(state, call_outstanding=0)
        case "ExcessWithdrawn":
            return replace(
                state,
                collateral_amount=state.collateral_amount - _int(a, "collateralAmount"),
                cash_margin=state.cash_margin - _int(a, "cashAmount"),
            )
        case "CollateralSubstituted":
            return replace(state, collateral_token=_addr(a, "newToken"), collateral_amount=_int(a, "newAmount"))
        case "RepoRepurchased" | "RepoClosedOut":
            return replace(state, terminated_at=event.block_time)
    return state


def _opened(event: EngineEvent) -> _State:
    a = event.args
    return _State(
        cash_token=_addr(a, "cashToken"),
        purchase_price=_int(a, "purchasePrice"),
        collateral_token=_addr(a, "collateralToken"),
        collateral_amount=_int(a, "collateralAmount"),
        rate=_int(a, "rate"),
        maturity=_int(a, "maturity"),
    )


@dataclass(frozen=True)
class PricePoint:
    """A price the oracle was given (1e18 per smallest unit) and where on chain: block and log index."""

    block_number: int
    log_index: int
    price: int


def price_at(
    pair: tuple[str, str], event: EngineEvent, *, history: Mapping[tuple[str, str], Sequence[PricePoint]], latest: int
) -> int:
    """The pair's price in force at ``event``: the last point before it in chain order (0, no price, if the pair's
    history starts later); without any history for the pair (prices followed before it was kept), its latest."""
    points = history.get(pair)
    if not points:
        return latest
    index = bisect_right([(p.block_number, p.log_index) for p in points], (event.block_number, event.log_index))
    return points[index - 1].price if index else 0


def _unknown(address: str) -> Instrument:
    return Instrument(address=address, decimals=0, currency=None, isin=None)


def records_of(
    parties: RepoParties,
    events: Sequence[EngineEvent],
    *,
    side: Side,
    instruments: Mapping[str, Instrument],
    prices: Mapping[tuple[str, str], int],
    history: Mapping[tuple[str, str], Sequence[PricePoint]] | None = None,
) -> list[ReportRecord]:
    """The repo's records, in chain order, as ``side`` reports them. ``events`` must start with ``RepoOpened``
    (a repo whose opening was not indexed is not reported: it has no UTI). ``prices``: the indexed oracle price of
    (collateral, cash), scaled 1e18 per smallest unit; ``history``: each pair's price points in time order, from
    which each record takes the price at its event (``price_at``); a missing price leaves price and market value
    empty."""
    ordered = sorted(events, key=lambda e: (e.block_number, e.log_index))
    if not ordered or ordered[0].name != "RepoOpened":
        return []
    seller = validate_lei(parties.seller_lei, whose="seller")
    buyer = validate_lei(parties.buyer_lei, whose="buyer")
    opening = ordered[0]
    uti = make_uti(generator_lei=buyer, opening_tx_hash=opening.tx_hash, repo_id=parties.repo_id)
    reporting, other = (seller, buyer) if side is Side.GIVE else (buyer, seller)
    state = _opened(opening)
    out = []
    for event in ordered:
        action = ACTIONS.get(event.name)
        if action is None:
            continue
        if event is not opening:
            state = _apply(state, event)
        cash = instruments.get(state.cash_token) or _unknown(state.cash_token)
        collateral = instruments.get(state.collateral_token) or _unknown(state.collateral_token)
        currency = cash.currency or NO_CURRENCY
        pair = (state.collateral_token, state.cash_token)
        price = price_at(pair, event, history=history or {}, latest=prices.get(pair, 0))
        out.append(
            ReportRecord(
                uti=uti,
                reporting_counterparty=reporting,
                other_counterparty=other,
                counterparty_side=side,
                action_type=action,
                event_date=_day(event.block_time),
                execution_timestamp=datetime.fromtimestamp(opening.block_time, UTC),
                value_date=_day(opening.block_time),
                maturity_date=_day(state.maturity) if state.maturity else None,
                termination_date=_day(state.terminated_at) if state.terminated_at is not None else None,
                cash_currency=currency,
                principal_amount=from_units(state.purchase_price, cash.decimals),
                fixed_rate=from_units(state.rate, RATE_PERCENT_DECIMALS),
                day_count="A365" if parties.day_count_basis == 365 else "A360",
                collateral_type=CollateralType.SECU,
                collateral_isin=collateral.isin or "",
                collateral_quantity=from_units(state.collateral_amount, collateral.decimals),
                collateral_price=(
                    from_units(price * 10**collateral.decimals // PRICE_SCALE, cash.decimals) if price else ""
                ),
                collateral_market_value=(
                    from_units(state.collateral_amount * price // PRICE_SCALE, cash.decimals) if price else ""
                ),
                haircut=from_units(parties.haircut_bps, 2),
                collateral_currency=collateral.currency or currency,
                cash_margin=from_units(state.cash_margin, cash.decimals),
                margin_call_outstanding=from_units(state.call_outstanding, cash.decimals),
                repo_id=parties.repo_id,
                event=event.name,
                block_number=event.block_number,
                log_index=event.log_index,
                tx_hash=event.tx_hash,
            )
        )
    return out
